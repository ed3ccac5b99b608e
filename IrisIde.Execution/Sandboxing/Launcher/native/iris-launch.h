/*
 * iris-launch: the one small native program between the server and bubblewrap.
 *
 *   iris-launch run [options] -- bwrap ...   set up the run's process, then exec bwrap
 *                                            (options: --oom-score-adj N, --cgroup PROCS_FILE, --rlimit NAME=N,
 *                                            --fd N=PATH, --fd-out N=PATH, --uid N --gid N, --drop-mounts-under
 *                                            ROOT (other runs' workspaces) with --keep-mount PATH (its own),
 *                                            --netns PATH (join that network namespace))
 *   iris-launch init STATUS_FD               pid 1 inside the sandbox: reads the command from stdin,
 *                                            runs it, reports its exact end
 *   (or the same file named init)
 *   iris-launch seccomp PATH                 write the runs' seccomp filter (BPF) to PATH
 *   iris-launch supervise -- command...      the process sandbox's parent of a run: subreaper, passes signals
 *                                            on, kills everything left under it when the program ends
 *
 * Each file is one part: iris-launch.c (run, init, main), seccomp-policy.c (the filter).
 */
#ifndef IRIS_LAUNCH_H
#define IRIS_LAUNCH_H

/*
 * Writes the seccomp filter every sandboxed program runs under, as raw BPF for bwrap --seccomp,
 * to the open descriptor fd. Returns 0, or a negative errno.
 */
int iris_seccomp_export(int fd);

#endif
