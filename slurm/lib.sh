# shellcheck shell=bash
# lib.sh: what the tryon batch scripts share (sourced, not run): how to launch MPI ranks
# under Slurm, and how a stop signal becomes a clean drain and a requeue.
#
# Launch: `srun --mpi=pmix` when this Slurm has the PMIx plugin (Open MPI is built with
# PMIx); otherwise mpirun inside the allocation (it reads the allocation from Slurm's
# environment). Each rank gets --cpus-per-task cores and is bound to all of them, never to
# one core, so the rank's render threads spread over its cores.
#
# Signals: Slurm sends the batch shell SIGUSR1 before the time limit (--signal=B:USR1@S)
# and every process SIGTERM on preemption or scancel. The trap forwards SIGUSR1 to the
# launcher (srun and mpirun both pass SIGUSR1 on to every rank; SIGTERM sent to mpirun
# itself makes it end the job with status 1, which is why USR1 is what we forward). The
# ranks stop taking work, finish or abandon the pairs in flight, flush the journal and
# exit 75; then the script requeues the job (`scontrol requeue`), and the next run resumes
# from OUT/journal.log.
#
# Lost ranks: a rank killed by SIGKILL (the OOM killer, a host's processes killed) ends the
# step (--kill-on-bad-exit) and the launcher exits 137; the script requeues the job too,
# and the next run renders again the pairs the dead ranks held (OUT/inflight.log). A whole
# host lost (its slurmd gone) is Slurm's own case: after SlurmdTimeout the node is marked
# DOWN, the job ends with NODE_FAIL and Slurm requeues it by itself (--requeue).

tryon_stopped=""

# tryon_launch CMD...: run CMD as an MPI job over the allocation, wait for it (through
# signals), requeue when it stopped early. Returns its exit status.
tryon_launch() {
    local -a launcher
    if [ "${TRYON_LAUNCHER:-auto}" = srun ] ||
        { [ "${TRYON_LAUNCHER:-auto}" = auto ] && srun --mpi=list 2>&1 | grep -qw pmix; }; then
        # SITE: add --gpus-per-task=1 / --gpu-bind=closest on GPU nodes
        # --cpu-bind=cores: each rank bound to all of its --cpus-per-task cores (not one);
        # --kill-on-bad-exit: a rank that dies ends the step (the master then prints the
        # pairs every rank held; the requeued or re-run job renders them again)
        launcher=(srun --mpi=pmix --cpus-per-task="${SLURM_CPUS_PER_TASK:-1}" --cpu-bind=cores --kill-on-bad-exit=1)
        [ -n "${TRYON_OVERCOMMIT:-}" ] && launcher+=(--overcommit)
    else
        echo "tryon: srun has no PMIx plugin here; launching with mpirun inside the allocation" >&2
        launcher=(mpirun --bind-to none --map-by "ppr:${SLURM_NTASKS_PER_NODE:-1}:node")
        [ -n "${TRYON_OVERCOMMIT:-}" ] && launcher=(mpirun --bind-to none --oversubscribe -np "${SLURM_NTASKS:-1}")
    fi
    export OMP_NUM_THREADS="${SLURM_CPUS_PER_TASK:-1}"
    echo "tryon: $(date -u +%FT%TZ) job ${SLURM_JOB_ID:-?} run ${SLURM_RESTART_COUNT:-0}: ${launcher[*]} $*" >&2
    "${launcher[@]}" "$@" &
    local pid=$! rc
    trap 'tryon_stopped=1; kill -USR1 '"$pid"' 2>/dev/null' USR1 TERM INT
    wait "$pid"
    rc=$?
    # a trapped signal interrupts `wait`: keep waiting for the drain to finish
    while kill -0 "$pid" 2>/dev/null; do
        wait "$pid"
        rc=$?
    done
    trap - USR1 TERM INT
    if [ "$rc" -eq 75 ] || [ "$rc" -eq 137 ] || { [ -n "$tryon_stopped" ] && [ "$rc" -ne 0 ]; }; then
        if [ -n "${SLURM_JOB_ID:-}" ] && [ "${SLURM_RESTART_COUNT:-0}" -lt "${TRYON_MAX_REQUEUES:-20}" ]; then
            if [ "$rc" -eq 137 ] && [ -z "$tryon_stopped" ]; then
                echo "tryon: a rank was killed (status 137): requeueing job $SLURM_JOB_ID to render its pairs again" >&2
            else
                echo "tryon: stopped early (status $rc): requeueing job $SLURM_JOB_ID to resume" >&2
            fi
            scontrol requeue "$SLURM_JOB_ID"   # an array task has its own SLURM_JOB_ID
        fi
    fi
    return "$rc"
}
