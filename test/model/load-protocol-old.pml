/*
 * load-protocol-old.pml: the load protocol as it was before the fenced lease, the write-ahead and
 * the guard (lambdas/load/load.ts with the DynamoDB ledger of lambdas/adapters/dynamodb-stores.ts
 * at that time), run on the asynchronous Redshift Data API. spin shows it breaks I1
 * (test/model/spin.test.ts); load-protocol.pml is the protocol that replaced it.
 *
 * Same world as load-protocol.pml (ledger compare-and-set writes, a Clock expiring leases, one
 * Txn process per submitted transaction that may commit after its submitter is gone, loaders that
 * crash anywhere and polls that time out, a RECOVERY loader after everything stopped), with
 * the old rules:
 *   - a loader is one execution; its load id is its own (loadIdFor(runId, batchUri)) and every
 *     retry of it reuses that id, also as the Data API ClientToken (a resubmission within 8 h
 *     returns the same statement);
 *   - OLD STEP 1 alreadyLoaded: "does syncproof_loads hold THIS load id"; an earlier execution's
 *     load is never seen;
 *   - OLD STEP 2 claim: discovered | failed | loading(this load id) | loading with claimedAt older
 *     than 30 min (lease_expired), with no look at any submitted statement; no fence;
 *   - OLD STEP 3 the transaction always inserts (MERGE last commit wins, no guard by key + ETag);
 *   - OLD STEP 4 poll; on a timeout (outcome unknown) or a failed statement: markFailed, which
 *     releases the file while the statement may still commit;
 *   - OLD STEP 5 markLoaded conditions only on the load id (and status loading | loaded).
 * Checked as in load-protocol.pml: I1 (warehouse after each commit + Monitor), I3 (at the loaded
 * write + Monitor), I2 (end state). Safety only (-DSAFETY), no LTL.
 *
 * -DTIMEOUT_ONLY: loaders never crash and no lease expires while they run; the only fault left is
 * a poll that times out. A double load found then must go through a file marked failed (released)
 * while its statement could still commit.
 */

#ifndef NLOADERS
#define NLOADERS 2
#endif
#ifndef ATTEMPTS
#define ATTEMPTS 1
#endif

#define F 0
#define NONE 0
#define RECOVERY_LOAD (NLOADERS + 1)    /* load ids: loaders 1 .. NLOADERS, recovery NLOADERS + 1 */
#define NLOADS (NLOADERS + 2)

mtype = { discovered, loading, loaded, failed, quarantined };
mtype = { unsubmitted, queued, committed, tx_failed, aborted };

/* ---- ledger (DynamoDB) ---- */
mtype lg_status = discovered;
byte  lg_load;                  /* loadId of the claim */
bool  lg_exp;                   /* claimedAt older than 30 min */

/* ---- warehouse (Redshift) ---- */
byte  rows;                     /* target rows of F (I1: <= 1) */
bool  audit_load[NLOADS];       /* syncproof_loads / syncproof_load_files hold this load id for F */
mtype st[NLOADS] = unsubmitted; /* the statement of each load id (ClientToken = load id) */

bool clock_stop;
bool monitor_stop;

#define I1_HOLDS (rows <= 1)
#define I3_HOLDS (lg_status != loaded || audit_load[lg_load])
#define ENDED(s) ((s) != queued && (s) != unsubmitted)

/* OLD STEP 3: the transaction of load `load`: COPY, MERGE, audit rows; it always inserts. */
proctype Txn(byte load; bool mayfail) {
  atomic {
    if
    :: mayfail -> st[load] = tx_failed
    :: true ->
       printf("OLD STEP 3 commit: load %d inserts F\n", load);
       rows++;
       audit_load[load] = true;
       st[load] = committed;
       if
       :: rows > 1 -> printf("I1 VIOLATED: object version F committed %d times\n", rows)
       :: else -> skip
       fi;
       assert(rows <= 1)                             /* I1 */
    fi
  }
}

proctype Clock() {
  do
#ifndef TIMEOUT_ONLY
  :: atomic { lg_status == loading && !lg_exp -> lg_exp = true }
#endif
  :: clock_stop -> break
  od
}

proctype Monitor() {
  do
  :: atomic {
       !(I1_HOLDS && I3_HOLDS) ->
       if
       :: !I1_HOLDS -> printf("I1 VIOLATED: object version F committed twice\n")
       :: else -> printf("I3 VIOLATED: ledger says loaded without audit rows\n")
       fi;
       assert(I1_HOLDS && I3_HOLDS)
     }
  :: monitor_stop -> break
  od
}

#ifdef TIMEOUT_ONLY
#define MAY_CRASH skip
#define CAN_CRASH false
#else
#define MAY_CRASH if :: crashable -> goto crashed :: true -> skip fi
#define CAN_CRASH crashable
#endif

inline old_attempt(me, crashable, timeouts, txmayfail) {
  /* OLD STEP 1 alreadyLoaded: SELECT 1 FROM syncproof_loads WHERE load_id = :loadId */
  already = audit_load[me];
  /* OLD STEP 2 claim (ledger.claim) */
  MAY_CRASH;
  atomic {
    if
    :: lg_status == discovered || lg_status == failed ||
       (lg_status == loading && (lg_load == me || lg_exp)) ->
       printf("OLD STEP 2 claim: load %d claims F (was %e)\n", me, lg_status);
       lg_status = loading; lg_load = me; lg_exp = false
    :: else ->
       /* claim refused: a retry of this very load after it marked the file loaded goes on */
       if
       :: already && lg_status == loaded && lg_load == me -> skip
       :: else -> goto attempt_done
       fi
    fi
  }
  if
  :: already -> goto mark
  :: else -> skip
  fi;
  /* OLD STEP 3 submit (ClientToken = load id: a resubmission returns the same statement) */
  MAY_CRASH;
  atomic {
    if
    :: st[me] == unsubmitted ->
       printf("OLD STEP 3 submit: load %d submits its transaction\n", me);
       st[me] = queued; run Txn(me, txmayfail)
    :: else -> skip
    fi
  }
  /* OLD STEP 4 poll */
  if
  :: st[me] == committed -> skip
  :: st[me] == tx_failed || st[me] == aborted -> goto release
  :: timeouts ->                                     /* outcome unknown, yet released */
     printf("OLD STEP 4 poll: load %d timed out (statement %e)\n", me, st[me]);
     goto release
  :: CAN_CRASH -> goto crashed
  fi;
mark:
  /* OLD STEP 5 read this load's audit rows back, then markLoaded / markFailed */
  MAY_CRASH;
  atomic {
    if
    :: audit_load[me] ->
       if
       :: lg_load == me && (lg_status == loading || lg_status == loaded) ->
          assert(audit_load[lg_load]);                /* I3 */
          printf("OLD STEP 5 markLoaded: load %d\n", me);
          lg_status = loaded
       :: else -> skip                                /* ConditionalCheckFailed */
       fi;
       goto attempt_done
    :: else -> skip                                   /* "committed without an audit row" */
    fi
  }
release:
  /* markFailed: loading(loadId) → failed; a later run may claim it again */
  MAY_CRASH;
  atomic {
    if
    :: lg_status == loading && lg_load == me ->
       printf("OLD STEP 4 markFailed: load %d releases F\n", me);
       lg_status = failed
    :: else -> skip
    fi
  }
}

proctype Loader(byte me) {
  bool already;
  byte k;
  do
  :: k < ATTEMPTS ->
     old_attempt(me, true, true, true);
attempt_done:
     atomic { k++; already = false }
  :: else -> break
  od;
crashed:
  skip
}

/* The next execution, after everything stopped and the warehouse drained. */
proctype Recovery() {
  bool already;
  atomic { if :: lg_status == loading -> lg_exp = true :: else -> skip fi }
  old_attempt(RECOVERY_LOAD, false, false, false);
attempt_done:
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
    :: i <= NLOADERS -> run Loader(i); i++
    :: else -> break
    od
  }
  (_nr_pr == 3);
  clock_stop = true;
  (_nr_pr == 2);
  run Recovery();
  (_nr_pr == 2);
  monitor_stop = true;
  (_nr_pr == 1);

  assert(I1_HOLDS && I3_HOLDS);
  if
  :: lg_status != loaded -> printf("I2 VIOLATED: F ends %e\n", lg_status)
  :: else -> skip
  fi;
  assert(lg_status == loaded)                        /* I2 */
}
