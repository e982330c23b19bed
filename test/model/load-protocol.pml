/*
 * load-protocol.pml: the load protocol (lambdas/core/load-protocol.ts, driven by
 * lambdas/load/load.ts), checked exhaustively by spin (test/model/spin.test.ts). The step names
 * below (STEP 1 read … STEP 7 settle) are the ones it uses.
 *
 * Checked (DESIGN.md §5), as assertions (safety only, pan built with -DSAFETY, no LTL):
 *   I1  an object version is committed in the target at most once
 *       (asserted in the warehouse after each commit, and by the Monitor in every state);
 *   I3  the ledger never says loaded without committed audit rows
 *       (asserted at the loaded write, and by the Monitor in every state);
 *   R   the lease of a holder that is alive and polls its statement is never expired (by the
 *       Monitor in every state) — what lease renewal is for: only a holder that is gone looks
 *       gone. Renewal starts at the first poll, so a holder slower than a lease between its claim
 *       and its submit may look gone (a loader then waits for its statement; harmless);
 *   I2  once every process has ended (after the RECOVERY loader), every object version is loaded,
 *       or quarantined when its content is bad (asserted in init; failed is not acceptable here,
 *       since in this model a good file can always load);
 *   I4  (only with -DWITH_G) a second, newer object version G of the same key: the target keeps the
 *       highest version among the committed object versions whatever the commit order.
 *
 * Configurations (-D; spin.test.ts checks these, each in well under a minute):
 *   NLOADERS=3 ATTEMPTS=1           three concurrent loaders of F                 (I1, I2, I3, R)
 *   NLOADERS=2 ATTEMPTS=2           two loaders of F, each retrying once          (I1, I2, I3, R)
 *   WITH_G NLOADERS=3 ATTEMPTS=1    loaders of F, G, F (loader i loads (i-1) % 2) (I1-I4, R)
 *   BATCH NLOADERS=2 ATTEMPTS=2     a loader of the batch {A, B} (two attempts) and one of {A} (one
 *                                   attempt); B's content mismatches its footer, so a transaction
 *                                   holding both is refused, the files go one by one, B ends
 *                                   quarantined and A loaded                       (I1, I2, I3, R)
 * Removal tests (spin.test.ts): -DNO_GUARD (the transaction does not refuse an object version
 * already audited) breaks I1; -DNO_RENEWAL (holders do not renew their leases) breaks R;
 * -DUNKNOWN_IS_RUNNING (a statement the warehouse does not know is taken for running) breaks I2.
 * -DREACH_ONE_BY_ONE (with BATCH) asserts that no file is quarantined one by one after a refused
 * batch: its failure shows that path is reachable, so BATCH does not pass vacuously.
 *
 * Modelled:
 *   - the ledger item of each object version (DynamoDB): status, fence, lease_expired, submitted,
 *     loadedBy. Every write is a single-item compare-and-set: one atomic { if :: cond -> … } step.
 *   - time: the Clock process may expire the lease of any item in status loading, at any moment,
 *     also while its holder still runs (a zombie: frozen, cut off, or between its claim and its
 *     first poll) — except while the holder polls the statement of that lease: each poll renews
 *     the lease (renewLease, conditional on the fence and the attempt), and a live holder polls far
 *     more often than a lease lasts, so in this untimed model a polled lease does not expire.
 *   - the warehouse (Redshift Data API): one Txn process per submitted transaction, which may run
 *     (and commit) long after its submitter crashed or gave up. Its body is one atomic step (the
 *     real transaction takes its dataset's lock table first, so loads of a dataset are serialized).
 *     Nobody cancels a statement: a loader that finds an expired lease whose statement still runs
 *     waits for it (here: stops, to come again), since it may be about to commit. A transaction
 *     may also fail (transient error) without effect.
 *   - loaders (executions, retries, zombies): each may crash at every step; a poll may time out
 *     (outcome unknown). A crash ends the loader; a stop ("retry later") ends only the attempt.
 *   - RECOVERY: one loader per object version (per batch with BATCH) that never crashes or times
 *     out and whose transactions do not fail, started once every other loader stopped and every
 *     submitted transaction ended. It is the next scheduled / event-triggered execution, which
 *     comes after any lease held by a dead loader has expired.
 * Not modelled: file errors (a failed COPY naming a file quarantines that file directly, written
 * with the same fence condition as STEP 7); the fast-check model covers them.
 */

#ifndef NLOADERS
#define NLOADERS 3          /* loader processes besides RECOVERY */
#endif
#ifndef ATTEMPTS
#define ATTEMPTS 1          /* attempts per loader: an attempt that stops is retried */
#endif

#if defined(WITH_G) || defined(BATCH)
#define NFILES 2
#else
#define NFILES 1
#endif
#define F 0                 /* object version F: key k, version 1 */
#define G 1                 /* object version G: key k, version 2 (newer data), only WITH_G */
#define A 0                 /* BATCH: a good file */
#define B 1                 /* BATCH: a file whose content the warehouse reads other than its footer */
#define VERSION(f) ((f) + 1)
#define BIT(f) (1 << (f))

#ifdef BATCH
#define REC_ATTEMPTS 4      /* recovery: the batch (refused), A alone, B alone, and one to spare */
#else
#define REC_ATTEMPTS 2      /* recovery: at most settle-by-facts once, then claim and load once */
#endif
#ifdef BATCH
#define NRECOVERY 1         /* one recovery loader, of the batch */
#else
#define NRECOVERY NFILES    /* one recovery loader per object version */
#endif
#define NONE 0              /* attempt ids are 1 .. NIDS-1; 0 = none */
#define NIDS (NLOADERS * ATTEMPTS + NRECOVERY * REC_ATTEMPTS + 1)
#define REC_ID(r, j) (NLOADERS * ATTEMPTS + (r) * REC_ATTEMPTS + (j) + 1)

/* ledger statuses; statement states as DescribeStatement reports them (unsubmitted = unknown) */
mtype = { discovered, loading, loaded, failed, quarantined };
mtype = { unsubmitted, queued, committed, refused, tx_failed };

/* ---- ledger (DynamoDB), one item per object version ---- */
mtype lg_status[NFILES] = discovered;
byte  lg_fence[NFILES];         /* incremented by every claim and take-over */
bool  lg_exp[NFILES];           /* lease expired (expiresAt passed) */
byte  lg_sub[NFILES];           /* submitted: attempt id written ahead of the submit, or NONE */
byte  lg_by[NFILES];            /* loadedBy */

/* ---- warehouse (Redshift) ---- */
byte  rows[NFILES];             /* target rows of each object version (I1: <= 1) */
byte  audit_n[NFILES];          /* audit rows (syncproof_load_files) of each object version */
byte  audit_by[NFILES];         /* attempt that committed the (last) audit row */
byte  target_ver;               /* version of key k in the target; 0 = no row (WITH_G) */
mtype st[NIDS] = unsubmitted;   /* statement of each attempt */
bool  polling[NIDS];            /* the attempt's holder is alive and polls its statement */
#ifdef BATCH
byte  tx_files[NIDS];           /* syncproof_loads.files of the attempt */
bool  tx_mismatch[NIDS];        /* refused: a file's rows differ from its footer (none audited before) */
#endif

bool clock_stop;
bool monitor_stop;

#define I1_HOLDS (rows[0] <= 1 && rows[NFILES - 1] <= 1)
#define I3_OF(f) (lg_status[f] != loaded || audit_n[f] > 0)
#define I3_HOLDS (I3_OF(0) && I3_OF(NFILES - 1))
#define R_OF(f) (!(lg_status[f] == loading && lg_exp[f] && lg_sub[f] != NONE && polling[lg_sub[f]]))
#define R_HOLDS (R_OF(0) && R_OF(NFILES - 1))
#define ENDED(s) ((s) != queued && (s) != unsubmitted)

/* One object version merged by the transaction `id`. */
inline commit_file(id, f) {
  rows[f]++;
  audit_n[f]++;
  audit_by[f] = id;
#ifdef WITH_G
  if                                                  /* MERGE keeps the newest version */
  :: VERSION(f) >= target_ver -> target_ver = VERSION(f)
  :: else -> skip
  fi;
#endif
  printf("TXN %d commits %d\n", id, f);
  if
  :: rows[f] > 1 -> printf("I1 VIOLATED: object version %d committed %d times\n", f, rows[f])
  :: else -> skip
  fi;
  assert(rows[f] <= 1)                                /* I1 */
}

/* The transaction's guard; -DNO_GUARD removes it (the mechanism I1 credits). */
#ifdef NO_GUARD
#define GUARD false
#else
#define GUARD true
#endif

/* The warehouse running one submitted transaction (the object versions in `mask`), whenever it gets to it. */
proctype Txn(byte id; byte mask; bool mayfail) {
  atomic {
    if
    :: mayfail -> st[id] = tx_failed                  /* transient failure: nothing written */
    :: true ->
       /* LOCK the dataset's lock table; the guard asks the audit by key + ETag, any load */
       if
       :: GUARD && (((mask & BIT(0)) && audit_n[0] > 0) || ((mask & BIT(NFILES - 1)) && audit_n[NFILES - 1] > 0)) ->
          st[id] = refused; printf("TXN %d refused: an object version is in the audit\n", id)
#ifdef BATCH
       :: else -> if
          :: mask & BIT(B) ->                         /* staged rows differ from B's footer */
             st[id] = refused; tx_mismatch[id] = true; printf("TXN %d refused: content mismatch\n", id)
          :: else -> skip
          fi
#else
       :: else -> skip
#endif
       fi;
       if
       :: st[id] == refused -> skip
       :: else ->
          if :: mask & BIT(0) -> commit_file(id, 0) :: else -> skip fi;
#if NFILES > 1
          if :: mask & BIT(1) -> commit_file(id, 1) :: else -> skip fi;
#endif
          st[id] = committed
       fi
    fi
  }
}

/*
 * The lease of f may expire unless its holder polls its statement (renewal). With -DNO_RENEWAL
 * (the mechanism removed) it may expire at any moment.
 */
#ifdef NO_RENEWAL
#define RENEWED(f) false
#else
#define RENEWED(f) polling[lg_sub[f]]
#endif

/* Time passing. */
proctype Clock() {
  do
  :: atomic { lg_status[0] == loading && !lg_exp[0] && !RENEWED(0) -> lg_exp[0] = true }
#if NFILES > 1
  :: atomic { lg_status[1] == loading && !lg_exp[1] && !RENEWED(1) -> lg_exp[1] = true }
#endif
  :: clock_stop -> break
  od
}

/* I1, I3 and R in every reachable state. */
proctype Monitor() {
  do
  :: atomic {
       !(I1_HOLDS && I3_HOLDS && R_HOLDS) ->
       if
       :: !I1_HOLDS -> printf("I1 VIOLATED: an object version committed twice\n")
       :: !I3_HOLDS -> printf("I3 VIOLATED: ledger says loaded without audit rows\n")
       :: else -> printf("R VIOLATED: a lease expired while its holder polls its statement\n")
       fi;
       assert(I1_HOLDS && I3_HOLDS && R_HOLDS)
     }
  :: monitor_stop -> break
  od
}

/*
 * DescribeStatement knows no statement for the recorded attempt: the holder wrote ahead and
 * crashed before its submit landed (or is a zombie whose submit is still on its way; the
 * transaction's own guard covers that). Default: nothing runs, so take over. With
 * -DUNKNOWN_IS_RUNNING the loader treats it like a running statement and stops.
 */
#ifdef UNKNOWN_IS_RUNNING
#define UNKNOWN_STATEMENT goto attempt_done
#else
#define UNKNOWN_STATEMENT skip
#endif

/* A crash point, before each write; a crash before a read is the crash after the previous write. */
#define MAY_CRASH if :: crashable -> goto crashed :: true -> skip fi

/*
 * STEP 3 wait: an expired lease whose statement still runs. Never cancelled, never taken over:
 * the loader stops (it comes again).
 */
#define AWAIT_EXPIRED(id, sub) \
  printf("STEP 3 await: attempt %d waits for statement %d of an expired lease (its holder polls it: %d)\n", id, sub, polling[sub]); \
  goto attempt_done

/* STEP 6 poll, renewing the leases of `mask` (renewLease: fence and attempt as written ahead). */
#ifdef NO_RENEWAL
#define RENEW_LEASE(f, fence, id) skip
#else
#define RENEW_LEASE(f, fence, id) \
  if :: lg_fence[f] == fence && lg_status[f] == loading && lg_sub[f] == id -> lg_exp[f] = false :: else -> skip fi
#endif

/*
 * One attempt of the protocol for object version f under attempt id `id`. Jumps to the caller's
 * labels attempt_done (this attempt stops) and crashed (the loader is gone).
 */
inline load_attempt(f, id, crashable, timeouts, txmayfail) {
  /* STEP 1 read: one consistent GetItem; STEPS 1-4 decide on what was read */
  atomic {
    r_status = lg_status[f]; r_fence = lg_fence[f]; r_exp = lg_exp[f]; r_sub = lg_sub[f];
    if
    :: r_status == loaded || r_status == quarantined -> goto attempt_done       /* STEP 1 done */
    :: r_status == loading && !r_exp -> goto attempt_done                       /* STEP 2 held */
    :: r_status == loading && r_exp && r_sub != NONE -> skip                    /* STEP 3 */
    :: r_status == loading && r_exp && r_sub == NONE -> goto claim              /* STEP 3: as 5 */
    :: r_status == discovered || r_status == failed -> goto claim               /* STEP 4 → 5 */
    fi
  }
  /* STEP 3 describe the recorded submission of the expired lease: still running → wait for it
     (stop, come again); ended → take over; unknown → take over (see UNKNOWN_STATEMENT) */
  atomic {
    if
    :: st[r_sub] == queued -> AWAIT_EXPIRED(id, r_sub)
    :: ENDED(st[r_sub]) -> skip
    :: st[r_sub] == unsubmitted ->
       printf("STEP 3 describe: attempt %d finds no statement %d\n", id, r_sub);
       UNKNOWN_STATEMENT
    fi
  }
  /* STEP 3 take over: CAS(fence == read fence AND attempt as read) → fence + 1, status stays, lease
     renewed (lambdas/core/load-protocol.ts: decideFile → claim with readAttemptId) */
  MAY_CRASH;
  atomic {
    if
    :: lg_fence[f] == r_fence && lg_sub[f] == r_sub ->
       lg_fence[f]++; lg_sub[f] = NONE; lg_exp[f] = false; mine = lg_fence[f];
       printf("STEP 3 take over: attempt %d holds %d with fence %d\n", id, f, mine)
    :: else -> goto attempt_done
    fi
  }
  goto settle;

claim:
  /* STEP 5 claim: CAS(fence == read fence AND status as read AND attempt as read): a claim never
     forgets an attempt its holder wrote ahead after this read (LedgerStore.claim readAttemptId) */
  MAY_CRASH;
  atomic {
    if
    :: lg_fence[f] == r_fence && lg_status[f] == r_status && lg_sub[f] == r_sub ->
       lg_status[f] = loading; lg_fence[f]++; lg_sub[f] = NONE; lg_exp[f] = false; mine = lg_fence[f];
       printf("STEP 5 claim: attempt %d claims %d (was %e) with fence %d\n", id, f, r_status, mine)
    :: else -> goto attempt_done
    fi
  }
  /* STEP 6 write ahead: CAS(fence == mine AND loading) → submitted = id; then submit */
  MAY_CRASH;
  atomic {
    if
    :: lg_fence[f] == mine && lg_status[f] == loading ->
       lg_sub[f] = id; printf("STEP 6 write ahead: attempt %d\n", id)
    :: else -> goto attempt_done
    fi
  }
  MAY_CRASH;
  atomic {                                           /* STEP 6 submit */
    printf("STEP 6 submit: attempt %d\n", id);
    st[id] = queued; run Txn(id, BIT(f), txmayfail)
  }
  /* STEP 6 poll: each poll renews the lease (first poll here; the Clock spares it while polling) */
  atomic { polling[id] = true; RENEW_LEASE(f, mine, id) }
  if
  :: atomic { ENDED(st[id]) -> polling[id] = false }
  :: atomic { timeouts -> polling[id] = false;       /* outcome unknown: ledger untouched */
     printf("STEP 6 poll: attempt %d timed out\n", id) };
     goto attempt_done
  :: atomic { crashable -> polling[id] = false }; goto crashed
  fi;

settle:
  /* STEP 7 settle by the facts in the warehouse audit (key + ETag, any load) */
  atomic { has_audit = (audit_n[f] > 0); by = audit_by[f] }
  MAY_CRASH;
  atomic {
    if
    :: lg_fence[f] == mine && lg_status[f] == loading ->
       if
       :: has_audit ->
          if
          :: audit_n[f] == 0 -> printf("I3 VIOLATED: loaded written without audit rows\n")
          :: else -> skip
          fi;
          assert(audit_n[f] > 0);                    /* I3 */
          lg_status[f] = loaded; lg_by[f] = by;
          printf("STEP 7 settle: attempt %d marks %d loaded by %d\n", id, f, by)
       :: else ->                                    /* refused or failed, statement ended */
          lg_status[f] = failed;
          printf("STEP 7 settle: attempt %d marks %d failed\n", id, f)
       fi
    :: else -> skip                                  /* taken over by someone else: stop */
    fi
  }
}

#ifdef BATCH
/*
 * STEPS 1-5 for file f of a batch attempt: settle it when the audit already has it, leave it when
 * done or held by another, stop the attempt when the statement of an expired lease (or of this
 * loader's own) still runs, else claim it (or take it over) and add it to `mask`. `mine[f]`: the
 * fence of this loader's latest claim of f (kept across its attempts: one execution's load id).
 */
inline batch_claim(f, id, crashable) {
  atomic {
    r_status = lg_status[f]; r_fence = lg_fence[f]; r_exp = lg_exp[f]; r_sub = lg_sub[f];
    has_audit = (audit_n[f] > 0); by = audit_by[f];
    if
    :: r_status == loaded || r_status == quarantined -> r_status = 0          /* STEP 1 done */
    :: r_status != loaded && r_status != quarantined && has_audit -> skip    /* STEP 1 settle */
    :: !has_audit && r_status == loading && !r_exp && r_fence != mine[f] -> r_status = 0  /* STEP 2 held */
    :: !has_audit && r_status == loading && (r_exp || r_fence == mine[f]) && r_sub != NONE ->  /* STEP 3 */
       if
       :: st[r_sub] == queued -> AWAIT_EXPIRED(id, r_sub)
       :: ENDED(st[r_sub]) -> skip
       :: st[r_sub] == unsubmitted -> UNKNOWN_STATEMENT
       fi
    :: !has_audit && r_status == loading && (r_exp || r_fence == mine[f]) && r_sub == NONE -> skip
    :: !has_audit && (r_status == discovered || r_status == failed) -> skip  /* STEP 4 */
    fi
  }
  if
  :: r_status == 0 -> skip
  :: r_status != 0 && has_audit ->
     /* STEP 1 settle-loaded: CAS(fence as read) */
     MAY_CRASH;
     atomic {
       if
       :: lg_fence[f] == r_fence && lg_status[f] != loaded ->
          assert(audit_n[f] > 0);                    /* I3 */
          lg_status[f] = loaded; lg_by[f] = by;
          printf("STEP 1 settle: attempt %d marks %d loaded by %d\n", id, f, by)
       :: else -> skip
       fi
     }
  :: r_status != 0 && !has_audit ->
     /* STEP 3 take over / STEP 5 claim: CAS(fence, status and attempt as read) */
     MAY_CRASH;
     atomic {
       if
       :: lg_fence[f] == r_fence && lg_status[f] == r_status && lg_sub[f] == r_sub ->
          lg_status[f] = loading; lg_fence[f]++; lg_sub[f] = NONE; lg_exp[f] = false;
          mine[f] = lg_fence[f]; mask = mask | BIT(f);
          printf("STEP 5 claim: attempt %d claims %d (was %e) with fence %d\n", id, f, r_status, mine[f])
       :: else -> skip
       fi
     }
  fi
}

/* STEP 6 write ahead for file f of the attempt: CAS(fence == mine AND loading) → submitted = id. */
inline batch_write_ahead(f, id, crashable) {
  if
  :: mask & BIT(f) ->
     MAY_CRASH;
     atomic {
       if
       :: lg_fence[f] == mine[f] && lg_status[f] == loading -> lg_sub[f] = id
       :: else -> mask = mask & ~BIT(f)
       fi
     }
  :: else -> skip
  fi
}

/* STEP 7 for file f of the attempt, by the audit, then the attempt's outcome (settleFile). */
inline batch_settle(f, id, crashable) {
  if
  :: mask & BIT(f) ->
     atomic { has_audit = (audit_n[f] > 0); by = audit_by[f] }
     MAY_CRASH;
     atomic {
       if
       :: lg_fence[f] == mine[f] && lg_status[f] == loading ->
          if
          :: has_audit ->
             assert(audit_n[f] > 0);                 /* I3 */
             lg_status[f] = loaded; lg_by[f] = by;
             printf("STEP 7 settle: attempt %d marks %d loaded by %d\n", id, f, by)
          :: !has_audit && tx_mismatch[id] && tx_files[id] == 1 ->
             lg_status[f] = quarantined;             /* a lone file read other than its footer */
             printf("STEP 7 settle: attempt %d quarantines %d (one by one: %d)\n", id, f, one_by_one);
#ifdef REACH_ONE_BY_ONE
             assert(!one_by_one)                     /* reachability probe: spin.test.ts expects it to fail */
#else
             skip
#endif
          :: else ->
             lg_status[f] = failed;
             printf("STEP 7 settle: attempt %d marks %d failed\n", id, f)
          fi
       :: else -> skip                               /* taken over by someone else */
       fi
     }
  :: else -> skip
  fi
}

/* One attempt of the protocol for the batch `files` ({A, B} or {A}) under attempt id `id`, as load.ts runs a round. */
inline batch_attempt(files, id, crashable, timeouts, txmayfail) {
  mask = 0;
  batch_claim(A, id, crashable);
  if :: files & BIT(B) -> batch_claim(B, id, crashable) :: else -> skip fi;
  /* after a content mismatch in a batch, files go one by one (the other stays claimed) */
  atomic {
    if
    :: one_by_one && mask == (BIT(A) | BIT(B)) -> mask = BIT(A)
    :: else -> skip
    fi
  }
  if :: mask == 0 -> goto attempt_done :: else -> skip fi;
  batch_write_ahead(A, id, crashable);
  batch_write_ahead(B, id, crashable);
  if :: mask == 0 -> goto attempt_done :: else -> skip fi;
  MAY_CRASH;
  atomic {                                           /* STEP 6 submit: one transaction */
    printf("STEP 6 submit: attempt %d holding A %d, B %d\n", id, (mask & BIT(A)) != 0, (mask & BIT(B)) != 0);
    tx_files[id] = (mask == (BIT(A) | BIT(B)) -> 2 : 1);
    st[id] = queued; run Txn(id, mask, txmayfail)
  }
  /* STEP 6 poll, renewing the leases of the attempt's files */
  atomic {
    polling[id] = true;
    if :: mask & BIT(A) -> RENEW_LEASE(A, mine[A], id) :: else -> skip fi;
    if :: mask & BIT(B) -> RENEW_LEASE(B, mine[B], id) :: else -> skip fi
  }
  if
  :: atomic { ENDED(st[id]) -> polling[id] = false }
  :: atomic { timeouts -> polling[id] = false; printf("STEP 6 poll: attempt %d timed out\n", id) };
     goto attempt_done
  :: atomic { crashable -> polling[id] = false }; goto crashed
  fi;
  batch_settle(A, id, crashable);
  batch_settle(B, id, crashable);
  atomic {
    if
    :: tx_mismatch[id] && tx_files[id] > 1 -> one_by_one = true
    :: else -> skip
    fi
  }
}

#define ATTEMPT_LOCALS \
  mtype r_status; byte r_fence; bool r_exp; byte r_sub; byte mine[NFILES]; bool has_audit; byte by; byte mask; bool one_by_one
#define RESET_LOCALS \
  r_status = 0; r_fence = 0; r_exp = 0; r_sub = 0; has_audit = 0; by = 0; mask = 0
#else
#define ATTEMPT_LOCALS \
  mtype r_status; byte r_fence; bool r_exp; byte r_sub; byte mine; bool has_audit; byte by
#define RESET_LOCALS \
  r_status = 0; r_fence = 0; r_exp = 0; r_sub = 0; mine = 0; has_audit = 0; by = 0
#endif

#ifdef BATCH
#define LOADER_ATTEMPTS(me) (me == 1 -> ATTEMPTS : 1)   /* the batch {A, B}: ATTEMPTS; {A}: one */
#else
#define LOADER_ATTEMPTS(me) ATTEMPTS
#endif

/*
 * An execution / retry / zombie: ATTEMPTS attempts, may crash anywhere, polls may time out. `f`:
 * the object version it loads (BATCH: the mask of its batch's object versions).
 */
proctype Loader(byte me; byte f) {
  ATTEMPT_LOCALS;
  byte k;
  do
  :: k < LOADER_ATTEMPTS(me) ->
#ifdef BATCH
     batch_attempt(f, (me - 1) * ATTEMPTS + k + 1, true, true, true);
#else
     load_attempt(f, (me - 1) * ATTEMPTS + k + 1, true, true, true);
#endif
attempt_done:
     atomic { k++; RESET_LOCALS }
  :: else -> break
  od;
crashed:
  skip
}

/* The next execution: after every loader stopped and the warehouse drained; no crash, no timeout. */
proctype Recovery(byte r) {
  ATTEMPT_LOCALS;
  byte j;
  /* it comes after the lease of any dead holder expired */
  atomic {
    if :: lg_status[0] == loading -> lg_exp[0] = true :: else -> skip fi;
    if :: lg_status[NFILES - 1] == loading -> lg_exp[NFILES - 1] = true :: else -> skip fi
  }
  do
#ifdef BATCH
  :: j < REC_ATTEMPTS && (lg_status[A] != loaded || lg_status[B] != quarantined) ->
     batch_attempt(BIT(A) | BIT(B), REC_ID(r, j), false, false, false);
#else
  :: j < REC_ATTEMPTS && lg_status[r] != loaded ->
     load_attempt(r, REC_ID(r, j), false, false, false);
#endif
attempt_done:
     atomic { j++; RESET_LOCALS }
  :: else -> break
  od;
crashed:
  skip
}

init {
  byte i;
  atomic {
    run Monitor();
    run Clock();
    i = 1;
    do
    :: i <= NLOADERS ->
#if defined(WITH_G)
       run Loader(i, (i - 1) % 2);
#elif defined(BATCH)
       run Loader(i, (i == 1 -> BIT(A) | BIT(B) : BIT(A)));   /* the batches {A, B}, {A} … */
#else
       run Loader(i, F);
#endif
       i++
    :: else -> break
    od
  }
  /* every loader stopped and every submitted transaction ended: only init, Monitor, Clock left */
  (_nr_pr == 3);
  clock_stop = true;
  (_nr_pr == 2);
  run Recovery(0);
  (_nr_pr == 2);
#ifdef WITH_G
  run Recovery(G);
  (_nr_pr == 2);
#endif
  monitor_stop = true;
  (_nr_pr == 1);

  assert(I1_HOLDS && I3_HOLDS);
  /* I2: nothing stays leased; every object version ends loaded (quarantined when bad) */
#ifdef BATCH
  if
  :: lg_status[A] != loaded -> printf("I2 VIOLATED: A ends %e\n", lg_status[A])
  :: lg_status[B] != quarantined -> printf("I2 VIOLATED: B ends %e\n", lg_status[B])
  :: else -> skip
  fi;
  assert(lg_status[A] == loaded && lg_status[B] == quarantined);
#else
  if
  :: lg_status[F] != loaded -> printf("I2 VIOLATED: F ends %e\n", lg_status[F])
  :: else -> skip
  fi;
  assert(lg_status[F] == loaded);
#endif
#ifdef WITH_G
  if
  :: lg_status[G] != loaded -> printf("I2 VIOLATED: G ends %e\n", lg_status[G])
  :: else -> skip
  fi;
  assert(lg_status[G] == loaded);
  /* I4: the target holds the newest committed version of the key, whatever the commit order */
  if
  :: target_ver != (audit_n[G] > 0 -> VERSION(G) : VERSION(F)) -> printf("I4 VIOLATED: target holds version %d\n", target_ver)
  :: else -> skip
  fi;
  assert(target_ver == (audit_n[G] > 0 -> VERSION(G) : VERSION(F)));
#endif
  skip
}
