/*
 * load-protocol.pml: the FIXED load protocol of one object version, checked exhaustively by spin
 * (test/model/spin.test.ts). The TypeScript implementation is lambdas/core/load-protocol.ts; the
 * step names below (STEP 1 read … STEP 7 settle) are the ones it uses.
 *
 * Checked (DESIGN.md §5), as assertions (safety only, pan built with -DSAFETY, no LTL):
 *   I1  an object version is committed in the target at most once
 *       (asserted in the warehouse after each commit, and by the Monitor in every state);
 *   I3  the ledger never says loaded without committed audit rows
 *       (asserted at the loaded write, and by the Monitor in every state);
 *   I2  once every process has ended (after the RECOVERY loader), the file is loaded
 *       (asserted in init; in this model a file can always load, so failed is not acceptable);
 *   I4  (only with -DWITH_G) a second, newer object version G of the same key: the target keeps the
 *       highest version among the committed object versions whatever the commit order.
 *
 * Configurations (-D; spin.test.ts checks these three, each in a few seconds):
 *   NLOADERS=3 ATTEMPTS=1           three concurrent loaders of F                 (I1, I2, I3)
 *   NLOADERS=2 ATTEMPTS=2           two loaders of F, each retrying once          (I1, I2, I3)
 *   WITH_G NLOADERS=3 ATTEMPTS=1    loaders of F, G, F (loader i loads (i-1) % 2) (I1, I2, I3, I4)
 * Each has ~1.5-2.6 million states. Three loaders with two attempts each do not fit: one of them
 * retrying alone gives 37 million states (87 s, 2.3 GB); all three, beyond 190 million.
 *
 * Modelled:
 *   - the ledger item of each object version (DynamoDB): status, fence, lease_expired, submitted,
 *     loadedBy. Every write is a single-item compare-and-set: one atomic { if :: cond -> … } step.
 *   - time: the Clock process may expire the lease of any item in status loading, at any moment,
 *     also while its holder still runs (a zombie).
 *   - the warehouse (Redshift Data API): one Txn process per submitted transaction, which may run
 *     (and commit) long after its submitter crashed or gave up. Its body is one atomic step (the
 *     real transaction takes LOCK syncproof_load_files first, so loads are serialized). A cancel
 *     races with the start: a cancelled, not-yet-started statement may still start and commit.
 *     A loader's transaction may also fail (transient error) without effect.
 *   - loaders (executions, retries, zombies): each may crash at every step; a poll may time out
 *     (outcome unknown). A crash ends the loader; a stop ("retry later") ends only the attempt.
 *   - RECOVERY: one loader per object version that never crashes or times out and whose
 *     transactions do not fail, started once every other loader stopped and every submitted
 *     transaction ended. It is the next scheduled / event-triggered execution, which comes after
 *     any lease held by a dead loader has expired.
 * Not modelled: quarantine (a file-specific error would end the file quarantined, a legal end of
 * I2; it is written with the same fence condition as STEP 7 and changes nothing above).
 */

#ifndef NLOADERS
#define NLOADERS 3          /* loader processes besides RECOVERY */
#endif
#ifndef ATTEMPTS
#define ATTEMPTS 1          /* attempts per loader: an attempt that stops is retried */
#endif

#ifdef WITH_G
#define NFILES 2
#else
#define NFILES 1
#endif
#define F 0                 /* object version F: key k, version 1 */
#define G 1                 /* object version G: key k, version 2 (newer data), only WITH_G */
#define VERSION(f) ((f) + 1)

#define REC_ATTEMPTS 2      /* recovery: at most settle-by-facts once, then claim and load once */
#define NONE 0              /* attempt ids are 1 .. NIDS-1; 0 = none */
#define NIDS (NLOADERS * ATTEMPTS + NFILES * REC_ATTEMPTS + 1)
#define REC_ID(f, j) (NLOADERS * ATTEMPTS + (f) * REC_ATTEMPTS + (j) + 1)

/* ledger statuses; statement states as DescribeStatement reports them (unsubmitted = unknown) */
mtype = { discovered, loading, loaded, failed, quarantined };
mtype = { unsubmitted, queued, committed, refused, tx_failed, aborted };

/* ---- ledger (DynamoDB), one item per object version ---- */
mtype lg_status[NFILES] = discovered;
byte  lg_fence[NFILES];         /* incremented by every claim and take-over */
bool  lg_exp[NFILES];           /* lease expired (claimedAt older than the lease) */
byte  lg_sub[NFILES];           /* submitted: attempt id written ahead of the submit, or NONE */
byte  lg_by[NFILES];            /* loadedBy */

/* ---- warehouse (Redshift) ---- */
byte  rows[NFILES];             /* target rows of each object version (I1: <= 1) */
byte  audit_n[NFILES];          /* audit rows (syncproof_load_files) of each object version */
byte  audit_by[NFILES];         /* attempt that committed the (last) audit row */
byte  target_ver;               /* version of key k in the target; 0 = no row */
mtype st[NIDS] = unsubmitted;   /* statement of each attempt */
bool  cancel_req[NIDS];         /* CancelStatement was asked */

bool clock_stop;
bool monitor_stop;

#define I1_HOLDS (rows[F] <= 1 && rows[NFILES - 1] <= 1)
#define I3_OF(f) (lg_status[f] != loaded || audit_n[f] > 0)
#define I3_HOLDS (I3_OF(F) && I3_OF(NFILES - 1))
#define ENDED(s) ((s) != queued && (s) != unsubmitted)

/* The warehouse running one submitted transaction, whenever it gets to it. */
proctype Txn(byte id; byte f; bool mayfail) {
  atomic {
    if
    :: cancel_req[id] -> st[id] = aborted            /* the cancel landed before it started */
    :: mayfail -> st[id] = tx_failed                  /* transient failure: nothing written */
    :: true ->                                        /* runs (also when a cancel came too late) */
       /* LOCK syncproof_load_files; the guard asks the audit by key + ETag, any load */
       if
       :: audit_n[f] > 0 ->                           /* committed, writes no target rows */
          st[id] = refused; printf("TXN %d refused: %d is in the audit\n", id, f)
       :: else ->
          rows[f]++;
          audit_n[f]++;
          audit_by[f] = id;
          if                                          /* MERGE keeps the newest version */
          :: VERSION(f) >= target_ver -> target_ver = VERSION(f)
          :: else -> skip
          fi;
          st[id] = committed;
          printf("TXN %d commits %d\n", id, f);
          if
          :: rows[f] > 1 -> printf("I1 VIOLATED: object version %d committed %d times\n", f, rows[f])
          :: else -> skip
          fi;
          assert(rows[f] <= 1)                        /* I1 */
       fi
    fi
  }
}

/* Time passing: any lease may expire at any moment. */
proctype Clock() {
  do
  :: atomic { lg_status[F] == loading && !lg_exp[F] -> lg_exp[F] = true }
#ifdef WITH_G
  :: atomic { lg_status[G] == loading && !lg_exp[G] -> lg_exp[G] = true }
#endif
  :: clock_stop -> break
  od
}

/* I1 and I3 in every reachable state. */
proctype Monitor() {
  do
  :: atomic {
       !(I1_HOLDS && I3_HOLDS) ->
       if
       :: !I1_HOLDS -> printf("I1 VIOLATED: an object version committed twice\n")
       :: else -> printf("I3 VIOLATED: ledger says loaded without audit rows\n")
       fi;
       assert(I1_HOLDS && I3_HOLDS)
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
  /* STEP 3 describe the recorded submission of the expired lease; if running, cancel it and stop
     (retry later). Describe and cancel are one step here: a statement that starts between them is
     the cancel that lands too late, which Txn models. */
  MAY_CRASH;
  atomic {
    if
    :: st[r_sub] == queued ->
       printf("STEP 3 cancel: attempt %d cancels statement %d\n", id, r_sub);
       cancel_req[r_sub] = true; goto attempt_done
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
       lg_fence[f]++; lg_exp[f] = false; mine = lg_fence[f];
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
    st[id] = queued; run Txn(id, f, txmayfail)
  }
  /* STEP 6 poll */
  if
  :: ENDED(st[id]) -> skip
  :: timeouts ->                                     /* outcome unknown: ledger untouched */
     printf("STEP 6 poll: attempt %d timed out\n", id);
     goto attempt_done
  :: crashable -> goto crashed
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

#define ATTEMPT_LOCALS \
  mtype r_status; byte r_fence; bool r_exp; byte r_sub; byte mine; bool has_audit; byte by

/* An execution / retry / zombie: ATTEMPTS attempts, may crash anywhere, polls may time out. */
proctype Loader(byte me; byte f) {
  ATTEMPT_LOCALS;
  byte k;
  do
  :: k < ATTEMPTS ->
     load_attempt(f, (me - 1) * ATTEMPTS + k + 1, true, true, true);
attempt_done:
     atomic { k++; r_status = 0; r_fence = 0; r_exp = 0; r_sub = 0; mine = 0; has_audit = 0; by = 0 }
  :: else -> break
  od;
crashed:
  skip
}

/* The next execution: after every loader stopped and the warehouse drained; no crash, no timeout. */
proctype Recovery(byte f) {
  ATTEMPT_LOCALS;
  byte j;
  /* it comes after the lease of any dead holder expired */
  atomic { if :: lg_status[f] == loading -> lg_exp[f] = true :: else -> skip fi }
  do
  :: j < REC_ATTEMPTS && lg_status[f] != loaded ->
     load_attempt(f, REC_ID(f, j), false, false, false);
attempt_done:
     j++
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
#ifdef WITH_G
       run Loader(i, (i - 1) % 2);
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
  run Recovery(F);
  (_nr_pr == 2);
#ifdef WITH_G
  run Recovery(G);
  (_nr_pr == 2);
#endif
  monitor_stop = true;
  (_nr_pr == 1);

  assert(I1_HOLDS && I3_HOLDS);
  /* I2: nothing stays leased; every object version ends loaded */
  if
  :: lg_status[F] != loaded -> printf("I2 VIOLATED: F ends %e\n", lg_status[F])
  :: else -> skip
  fi;
  assert(lg_status[F] == loaded);
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
