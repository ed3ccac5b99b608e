/*
 * The seccomp filter every sandboxed program runs under (issue 9, finding 3).
 *
 * `iris-seccomp PATH` writes it once at server start; bubblewrap loads it with
 * `--seccomp FD` right before it execs the program, after it has set no_new_privs, so the
 * program and everything it starts (compilers, runtimes, children) are filtered from their
 * first instruction, and no process of a run can remove the filter.
 *
 * An allow-list in the spirit of Docker's default profile, tightened for a sandbox that runs
 * without capabilities and without network: a call that is not listed fails, it does not kill.
 *
 * Architecture: x86_64 only. A syscall made through another ABI of the same kernel (i386 via
 * `int 0x80` or sysenter, x32 via the 0x40000000 bit) kills the whole process with SIGSYS:
 * these ABIs number the calls differently, so the rules below would not mean the same there,
 * and no toolchain of the catalogue produces such programs.
 *
 * Allowed, without conditions: file and descriptor I/O (including xattrs, inotify, Linux AIO,
 * FIFOs through mknod), memory management of the process's own address space, threads and
 * processes (fork, vfork, execve, wait, pidfds, signals, futexes, rseq, membarrier), timers and
 * clocks (reading only), scheduling and priority of its own tasks, credentials calls (no
 * capabilities are left, so they can only drop), resource limits, System V and POSIX IPC (the
 * run has its own IPC namespace), seccomp and landlock (a program may restrict itself further),
 * prctl, ioctl, uname, sysinfo, getrandom, and socket calls on sockets it may create.
 *
 * Allowed with conditions:
 *   clone          only without CLONE_NEW{NS,UTS,IPC,USER,PID,NET,CGROUP}: threads and fork, not
 *                  namespaces; else EPERM.
 *   socket,        only AF_UNIX, AF_INET, AF_INET6 (the run's own network namespace has nothing
 *   socketpair     but loopback); every other family, notably AF_VSOCK (a path to the
 *                  hypervisor), AF_NETLINK, AF_PACKET, AF_KEY, AF_ALG, AF_BLUETOOTH, fails with
 *                  EAFNOSUPPORT, what a kernel without the family answers: glibc's getaddrinfo
 *                  (its AI_ADDRCONFIG probe) carries on. The one visible cost: listing network
 *                  interfaces through netlink fails (getifaddrs, Go's net.Interfaces, Node's
 *                  os.networkInterfaces); the run has only loopback anyway. Java's NetworkInterface
 *                  still works (ioctl and /proc).
 *   personality    only the values Docker allows: PER_LINUX (0), PER_LINUX32 (8), UNAME26,
 *                  UNAME26|PER_LINUX32 and the query 0xffffffff; not READ_IMPLIES_EXEC nor
 *                  ADDR_NO_RANDOMIZE; else EPERM.
 *
 * Denied with ENOSYS, so runtimes fall back as on an older kernel:
 *   clone3                     glibc's pthread_create and posix_spawn fall back to clone, whose
 *                              flags the filter can see (clone3 passes them in memory).
 *   io_uring_setup/enter/      libuv (node) falls back to epoll and its thread pool; io_uring has
 *   register                   been a steady source of kernel privilege escalations.
 *   syscalls numbered 451–511  newer than this list, unless allowed below by number: a newer
 *                              runtime probing them falls back instead of failing.
 *
 * Denied with EPERM (the default action, as in Docker):
 *   - namespaces and mounts: unshare, setns, mount, umount2, pivot_root, chroot, fsopen, fsconfig,
 *     fsmount, fspick, move_mount, open_tree, mount_setattr;
 *   - the keyring (add_key, keyctl, request_key): keys outlive the run and are shared per uid;
 *   - other processes' memory and state: ptrace, process_vm_readv/writev, kcmp, pidfd_getfd,
 *     process_madvise, process_mrelease, get_robust_list; a program that could ptrace the sandbox's
 *     pid 1 could wedge the run;
 *   - kernel attack surface nothing in the catalogue needs: bpf, perf_event_open, userfaultfd,
 *     modify_ldt, iopl, ioperm, memfd_secret, fanotify_init/fanotify_mark, open_by_handle_at,
 *     name_to_handle_at, remap_file_pages, lookup_dcookie, uselib, ustat, sysfs, _sysctl,
 *     nfsservctl, quotactl, quotactl_fd;
 *   - NUMA placement (mbind, set_mempolicy, set_mempolicy_home_node, migrate_pages, move_pages):
 *     Docker allows them only with CAP_SYS_NICE; get_mempolicy (read-only) stays allowed;
 *   - the machine's state: reboot, kexec_load, kexec_file_load, init_module, finit_module,
 *     delete_module, swapon, swapoff, acct, settimeofday, clock_settime, adjtimex, clock_adjtime,
 *     sethostname, setdomainname, syslog, vhangup;
 *   - sync and syncfs: they flush every file system of the host (other runs' I/O pays), and a
 *     student program never needs them (fsync and fdatasync on its own files stay allowed);
 *   - everything else not listed here.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/socket.h>
#include "seccomp-policy.h"

#define IRIS_ARRAY_LENGTH(array) (sizeof(array) / sizeof((array)[0]))

/* Syscalls newer than the kernel headers and libseccomp 2.5.4 know (x86_64 numbers). */
enum
{
    IRIS_NR_CACHESTAT = 451,
    IRIS_NR_FCHMODAT2 = 452,
    IRIS_NR_MAP_SHADOW_STACK = 453,
    IRIS_NR_FUTEX_WAKE = 454,
    IRIS_NR_FUTEX_WAIT = 455,
    IRIS_NR_FUTEX_REQUEUE = 456,
    IRIS_NR_MSEAL = 462,
    IRIS_NR_SETXATTRAT = 463,
    IRIS_NR_GETXATTRAT = 464,
    IRIS_NR_LISTXATTRAT = 465,
    IRIS_NR_REMOVEXATTRAT = 466,
    IRIS_NR_FILE_GETATTR = 468,
    IRIS_NR_FILE_SETATTR = 469,
    /* The range whose unlisted members answer ENOSYS: the first number after set_mempolicy_home_node, and beyond. */
    IRIS_NR_FIRST_UNKNOWN = 451,
    IRIS_NR_LAST_UNKNOWN = 511,
};

static const int AllowedSyscalls[] = {
    /* Files and descriptors. */
    SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(pread64),
    SCMP_SYS(pwrite64), SCMP_SYS(preadv), SCMP_SYS(pwritev), SCMP_SYS(preadv2), SCMP_SYS(pwritev2),
    SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(openat2), SCMP_SYS(creat), SCMP_SYS(close),
    SCMP_SYS(close_range), SCMP_SYS(lseek), SCMP_SYS(dup), SCMP_SYS(dup2), SCMP_SYS(dup3),
    SCMP_SYS(fcntl), SCMP_SYS(flock), SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(sync_file_range),
    SCMP_SYS(truncate), SCMP_SYS(ftruncate), SCMP_SYS(fallocate), SCMP_SYS(fadvise64),
    SCMP_SYS(readahead), SCMP_SYS(sendfile), SCMP_SYS(splice), SCMP_SYS(tee), SCMP_SYS(vmsplice),
    SCMP_SYS(copy_file_range), SCMP_SYS(stat), SCMP_SYS(fstat), SCMP_SYS(lstat), SCMP_SYS(newfstatat),
    SCMP_SYS(statx), SCMP_SYS(statfs), SCMP_SYS(fstatfs), SCMP_SYS(access), SCMP_SYS(faccessat),
    SCMP_SYS(faccessat2), SCMP_SYS(getdents), SCMP_SYS(getdents64), SCMP_SYS(getcwd), SCMP_SYS(chdir),
    SCMP_SYS(fchdir), SCMP_SYS(rename), SCMP_SYS(renameat), SCMP_SYS(renameat2), SCMP_SYS(mkdir),
    SCMP_SYS(mkdirat), SCMP_SYS(rmdir), SCMP_SYS(link), SCMP_SYS(linkat), SCMP_SYS(unlink),
    SCMP_SYS(unlinkat), SCMP_SYS(symlink), SCMP_SYS(symlinkat), SCMP_SYS(readlink),
    SCMP_SYS(readlinkat), SCMP_SYS(chmod), SCMP_SYS(fchmod), SCMP_SYS(fchmodat), SCMP_SYS(chown),
    SCMP_SYS(fchown), SCMP_SYS(lchown), SCMP_SYS(fchownat), SCMP_SYS(umask), SCMP_SYS(utime),
    SCMP_SYS(utimes), SCMP_SYS(utimensat), SCMP_SYS(futimesat), SCMP_SYS(mknod), SCMP_SYS(mknodat),
    SCMP_SYS(getxattr), SCMP_SYS(lgetxattr), SCMP_SYS(fgetxattr), SCMP_SYS(listxattr),
    SCMP_SYS(llistxattr), SCMP_SYS(flistxattr), SCMP_SYS(setxattr), SCMP_SYS(lsetxattr),
    SCMP_SYS(fsetxattr), SCMP_SYS(removexattr), SCMP_SYS(lremovexattr), SCMP_SYS(fremovexattr),
    SCMP_SYS(ioctl), SCMP_SYS(pipe), SCMP_SYS(pipe2), SCMP_SYS(memfd_create),
    SCMP_SYS(inotify_init), SCMP_SYS(inotify_init1), SCMP_SYS(inotify_add_watch),
    SCMP_SYS(inotify_rm_watch), SCMP_SYS(io_setup), SCMP_SYS(io_destroy), SCMP_SYS(io_submit),
    SCMP_SYS(io_cancel), SCMP_SYS(io_getevents), SCMP_SYS(io_pgetevents),

    /* Waiting for descriptors and events. */
    SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(select), SCMP_SYS(pselect6), SCMP_SYS(epoll_create),
    SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait),
    SCMP_SYS(epoll_pwait2), SCMP_SYS(eventfd), SCMP_SYS(eventfd2), SCMP_SYS(signalfd),
    SCMP_SYS(signalfd4), SCMP_SYS(timerfd_create), SCMP_SYS(timerfd_settime),
    SCMP_SYS(timerfd_gettime),

    /* The process's own memory. */
    SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mprotect), SCMP_SYS(mremap),
    SCMP_SYS(madvise), SCMP_SYS(msync), SCMP_SYS(mincore), SCMP_SYS(mlock), SCMP_SYS(mlock2),
    SCMP_SYS(munlock), SCMP_SYS(mlockall), SCMP_SYS(munlockall), SCMP_SYS(membarrier),
    SCMP_SYS(pkey_alloc), SCMP_SYS(pkey_free), SCMP_SYS(pkey_mprotect), SCMP_SYS(get_mempolicy),

    /* Threads and processes. clone and personality have conditional rules below. */
    SCMP_SYS(fork), SCMP_SYS(vfork), SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(exit),
    SCMP_SYS(exit_group), SCMP_SYS(wait4), SCMP_SYS(waitid), SCMP_SYS(kill), SCMP_SYS(tkill),
    SCMP_SYS(tgkill), SCMP_SYS(rt_sigqueueinfo), SCMP_SYS(rt_tgsigqueueinfo), SCMP_SYS(pidfd_open),
    SCMP_SYS(pidfd_send_signal), SCMP_SYS(getpid), SCMP_SYS(getppid), SCMP_SYS(gettid),
    SCMP_SYS(getpgid), SCMP_SYS(setpgid), SCMP_SYS(getpgrp), SCMP_SYS(getsid), SCMP_SYS(setsid),
    SCMP_SYS(set_tid_address), SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(futex),
    SCMP_SYS(futex_waitv), SCMP_SYS(arch_prctl), SCMP_SYS(prctl), SCMP_SYS(seccomp),
    SCMP_SYS(landlock_create_ruleset), SCMP_SYS(landlock_add_rule), SCMP_SYS(landlock_restrict_self),
    SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity), SCMP_SYS(sched_setaffinity),
    SCMP_SYS(sched_getparam), SCMP_SYS(sched_setparam), SCMP_SYS(sched_getscheduler),
    SCMP_SYS(sched_setscheduler), SCMP_SYS(sched_get_priority_max), SCMP_SYS(sched_get_priority_min),
    SCMP_SYS(sched_rr_get_interval), SCMP_SYS(sched_getattr), SCMP_SYS(sched_setattr),
    SCMP_SYS(getpriority), SCMP_SYS(setpriority), SCMP_SYS(ioprio_get), SCMP_SYS(ioprio_set),
    SCMP_SYS(getcpu),

    /* Credentials and limits: without capabilities these can only report or drop. */
    SCMP_SYS(capget), SCMP_SYS(capset), SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid),
    SCMP_SYS(getegid), SCMP_SYS(getresuid), SCMP_SYS(getresgid), SCMP_SYS(getgroups),
    SCMP_SYS(setuid), SCMP_SYS(setgid), SCMP_SYS(setreuid), SCMP_SYS(setregid), SCMP_SYS(setresuid),
    SCMP_SYS(setresgid), SCMP_SYS(setgroups), SCMP_SYS(setfsuid), SCMP_SYS(setfsgid),
    SCMP_SYS(getrlimit), SCMP_SYS(setrlimit), SCMP_SYS(prlimit64), SCMP_SYS(getrusage), SCMP_SYS(times),

    /* Signals. */
    SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigsuspend),
    SCMP_SYS(rt_sigpending), SCMP_SYS(rt_sigtimedwait), SCMP_SYS(sigaltstack), SCMP_SYS(pause),
    SCMP_SYS(alarm), SCMP_SYS(getitimer), SCMP_SYS(setitimer), SCMP_SYS(restart_syscall),

    /* Time: reading clocks and sleeping; never setting a clock. */
    SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep), SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres),
    SCMP_SYS(gettimeofday), SCMP_SYS(time), SCMP_SYS(timer_create), SCMP_SYS(timer_settime),
    SCMP_SYS(timer_gettime), SCMP_SYS(timer_getoverrun), SCMP_SYS(timer_delete),

    /* The system, read-only. */
    SCMP_SYS(uname), SCMP_SYS(sysinfo), SCMP_SYS(getrandom),

    /* Sockets: creating one is conditional (below); using one the program has is not. */
    SCMP_SYS(bind), SCMP_SYS(listen), SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(connect),
    SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(getsockopt), SCMP_SYS(setsockopt),
    SCMP_SYS(sendto), SCMP_SYS(recvfrom), SCMP_SYS(sendmsg), SCMP_SYS(recvmsg), SCMP_SYS(sendmmsg),
    SCMP_SYS(recvmmsg), SCMP_SYS(shutdown),

    /* IPC: the run has its own IPC namespace. */
    SCMP_SYS(msgget), SCMP_SYS(msgsnd), SCMP_SYS(msgrcv), SCMP_SYS(msgctl), SCMP_SYS(semget),
    SCMP_SYS(semop), SCMP_SYS(semtimedop), SCMP_SYS(semctl), SCMP_SYS(shmget), SCMP_SYS(shmat),
    SCMP_SYS(shmdt), SCMP_SYS(shmctl), SCMP_SYS(mq_open), SCMP_SYS(mq_unlink), SCMP_SYS(mq_timedsend),
    SCMP_SYS(mq_timedreceive), SCMP_SYS(mq_notify), SCMP_SYS(mq_getsetattr),

    /* Newer than libseccomp 2.5.4: the same kinds of calls as above, by number. */
    IRIS_NR_CACHESTAT, IRIS_NR_FCHMODAT2, IRIS_NR_MAP_SHADOW_STACK, IRIS_NR_FUTEX_WAKE,
    IRIS_NR_FUTEX_WAIT, IRIS_NR_FUTEX_REQUEUE, IRIS_NR_MSEAL, IRIS_NR_SETXATTRAT, IRIS_NR_GETXATTRAT,
    IRIS_NR_LISTXATTRAT, IRIS_NR_REMOVEXATTRAT, IRIS_NR_FILE_GETATTR, IRIS_NR_FILE_SETATTR,
};

/* Denied with ENOSYS rather than the default EPERM, so callers fall back to an older call. */
static const int FallBackSyscalls[] = {
    SCMP_SYS(clone3), SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter), SCMP_SYS(io_uring_register),
};

/* Namespace flags clone() must not carry (Docker's mask); CLONE_NEWTIME cannot be passed to clone(). */
static const scmp_datum_t CloneNamespaceFlags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER
    | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;

/* PER_LINUX, PER_LINUX32, UNAME26, UNAME26 | PER_LINUX32, and the query. */
static const scmp_datum_t AllowedPersonalities[] = { 0x0, 0x8, 0x20000, 0x20008, 0xffffffff };

static const scmp_datum_t AllowedSocketFamilies[] = { AF_UNIX, AF_INET, AF_INET6 };

static int add_rules(scmp_filter_ctx filter)
{
    int rc;
    for (size_t i = 0; i < IRIS_ARRAY_LENGTH(AllowedSyscalls); i++)
    {
        if ((rc = seccomp_rule_add(filter, SCMP_ACT_ALLOW, AllowedSyscalls[i], 0)) < 0)
            return rc;
    }

    for (size_t i = 0; i < IRIS_ARRAY_LENGTH(FallBackSyscalls); i++)
    {
        if ((rc = seccomp_rule_add(filter, SCMP_ACT_ERRNO(ENOSYS), FallBackSyscalls[i], 0)) < 0)
            return rc;
    }

    for (int nr = IRIS_NR_FIRST_UNKNOWN; nr <= IRIS_NR_LAST_UNKNOWN; nr++)
    {
        int allowed = 0;
        for (size_t i = 0; i < IRIS_ARRAY_LENGTH(AllowedSyscalls); i++)
            allowed |= AllowedSyscalls[i] == nr;
        if (!allowed && (rc = seccomp_rule_add(filter, SCMP_ACT_ERRNO(ENOSYS), nr, 0)) < 0)
            return rc;
    }

    /* The flags are clone's first argument on x86_64; the kernel reads only their low 32 bits. */
    if ((rc = seccomp_rule_add(filter, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
             SCMP_A0(SCMP_CMP_MASKED_EQ, CloneNamespaceFlags, 0))) < 0)
        return rc;

    /* personality() takes an unsigned int: compare the low 32 bits, as the kernel sees them. */
    for (size_t i = 0; i < IRIS_ARRAY_LENGTH(AllowedPersonalities); i++)
    {
        if ((rc = seccomp_rule_add(filter, SCMP_ACT_ALLOW, SCMP_SYS(personality), 1,
                 SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffff, AllowedPersonalities[i]))) < 0)
            return rc;
    }

    /*
     * The family is an int. Allowed only on an exact 64-bit match; every other value of the
     * argument, up to AF_MAX and beyond, matches exactly one of the EAFNOSUPPORT rules.
     */
    const int create_socket[] = { SCMP_SYS(socket), SCMP_SYS(socketpair) };
    for (size_t s = 0; s < IRIS_ARRAY_LENGTH(create_socket); s++)
    {
        scmp_datum_t family = 0;
        for (size_t i = 0; i < IRIS_ARRAY_LENGTH(AllowedSocketFamilies); i++)
        {
            for (; family < AllowedSocketFamilies[i]; family++)
            {
                if ((rc = seccomp_rule_add(filter, SCMP_ACT_ERRNO(EAFNOSUPPORT), create_socket[s], 1,
                         SCMP_A0(SCMP_CMP_EQ, family))) < 0)
                    return rc;
            }

            if ((rc = seccomp_rule_add(filter, SCMP_ACT_ALLOW, create_socket[s], 1,
                     SCMP_A0(SCMP_CMP_EQ, AllowedSocketFamilies[i]))) < 0)
                return rc;
            family++;
        }

        if ((rc = seccomp_rule_add(filter, SCMP_ACT_ERRNO(EAFNOSUPPORT), create_socket[s], 1,
                 SCMP_A0(SCMP_CMP_GE, family))) < 0)
            return rc;
    }

    return 0;
}

int iris_seccomp_export(int fd)
{
    scmp_filter_ctx filter = seccomp_init(SCMP_ACT_ERRNO(EPERM));
    if (filter == NULL)
        return -ENOMEM;

    int rc = seccomp_attr_set(filter, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    /* A binary search over the syscall number instead of ~300 comparisons in a row, on every call. */
    if (rc == 0)
        rc = seccomp_attr_set(filter, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    if (rc == 0)
        rc = add_rules(filter);
    if (rc == 0)
        rc = seccomp_export_bpf(filter, fd);
    seccomp_release(filter);
    return rc;
}
