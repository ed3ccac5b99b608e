/*
 * iris-launch: the one small native program between the server and bubblewrap.
 *
 *   iris-launch run [options] -- bwrap ...   set up the run's process, then exec bwrap
 *                                            (options: --oom-score-adj N, --cgroup PROCS_FILE, --rlimit NAME=N,
 *                                            --fd N=PATH, --fd-out N=PATH, --uid N --gid N, --drop-mounts-under
 *                                            ROOT (other runs' workspaces) with --keep-mount PATH (its own),
 *                                            --netns PATH (join that network namespace))
 *   iris-launch run [options] --contain ROOT [sandbox options] -- /.iris/init FD
 *                                            the same, then build the sandbox on the prepared ROOT itself, in
 *                                            place of bwrap (see contain below; sandbox options: --workspace PATH,
 *                                            --workspace-at PATH, --hostname NAME, --tmpfs-size BYTES, --sandbox-id N,
 *                                            --status-fd N, --pass-fd N, --seccomp FILE, --mask-file NAME,
 *                                            --mask-folder NAME, --setenv NAME=VALUE)
 *   iris-launch init STATUS_FD               pid 1 inside the sandbox: reads the command from stdin,
 *                                            runs it, reports its exact end
 *   (or the same file named init)
 *   iris-launch supervise -- command...      the process sandbox's parent of a run: subreaper, passes signals
 *                                            on, kills everything left under it when the program ends
 *
 * It is started (and, as init, exec'd) several times for every run, so it is built to start cheaply: statically,
 * with musl where the build machine has it (a static glibc program probes the CPU with dozens of CPUID
 * instructions at start, each a trap to the hypervisor in a VM), and without libseccomp: the seccomp filter is
 * compiled once per server by iris-seccomp (iris-seccomp.c, seccomp-policy.c).
 *
 * run: the server starts it (as root) for every sandboxed step. It prepares its own process and
 * then execs bwrap, so bwrap and everything bwrap starts inherit all of it from their first
 * instruction: the run's cgroups, oom_score_adj, rlimits, the run's own host uid and gid, no
 * supplementary groups, no_new_privs, exactly the descriptors asked for and nothing else.
 *
 * init: bwrap runs it as pid 1 of the sandbox (--as-pid-1). It reads the command from stdin (so the
 * sandbox can be made ready before the command is known), starts the program as pid 2 in a
 * session of its own, reaps every orphan, and when the program ends writes how it ended — the exact
 * exit code or the signal — to its status descriptor and exits, which ends the whole sandbox. It is
 * not dumpable, so the program cannot ptrace it or read its descriptors through /proc.
 *
 * supervise: the process sandbox starts it as the parent of each run (see supervise below).
 *
 * Errors are reported on stderr with the prefix "iris-launch:" and exit code 125 (run) or 127 (the
 * program could not be executed, like a shell).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sched.h>
#include <unistd.h>

#define EXIT_SETUP_FAILED 125
#define EXIT_NOT_EXECUTABLE 126
#define EXIT_NOT_FOUND 127
#define MAX_ITEMS 64
#define MAX_COMMAND_BYTES (64 * 1024)
#define MAX_ARGUMENTS 1024

/* musl has no wrapper for it (glibc has since 2.34); the kernel call is the same. */
static int close_descriptors(unsigned int first, unsigned int last)
{
    return (int)syscall(SYS_close_range, first, last, 0);
}

static void fail(const char *format, ...)
{
    int saved = errno;
    va_list args;
    fputs("iris-launch: ", stderr);
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
    if (saved != 0)
        fprintf(stderr, ": %s", strerror(saved));
    fputc('\n', stderr);
    _exit(EXIT_SETUP_FAILED);
}

static long parse_number(const char *text, long minimum, long maximum, const char *what)
{
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < minimum || value > maximum) {
        errno = 0;
        fail("invalid %s '%s'", what, text);
    }
    return value;
}

static void write_file(const char *path, const char *content)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        fail("open %s", path);
    size_t length = strlen(content);
    if (write(fd, content, length) != (ssize_t)length)
        fail("write %s", path);
    close(fd);
}

struct descriptor {
    int number;
    const char *path;
    int flags;
};

struct rlimit_setting {
    int resource;
    rlim_t value;
};

static int resource_named(const char *name)
{
    static const struct { const char *name; int resource; } names[] = {
        { "cpu", RLIMIT_CPU }, { "fsize", RLIMIT_FSIZE }, { "nofile", RLIMIT_NOFILE },
        { "core", RLIMIT_CORE }, { "stack", RLIMIT_STACK }, { "nproc", RLIMIT_NPROC },
        { "memlock", RLIMIT_MEMLOCK }, { "msgqueue", RLIMIT_MSGQUEUE },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i].name, name) == 0)
            return names[i].resource;
    errno = 0;
    fail("unknown rlimit '%s'", name);
    return -1;
}

/* Closes every descriptor above 2 but the (at most MAX_ITEMS) numbers given: the gaps between them, then all above the last. */
static void close_all_but(const int *numbers, int count)
{
    int kept[MAX_ITEMS];
    for (int i = 0; i < count; i++) {
        int j = i;
        for (; j > 0 && kept[j - 1] > numbers[i]; j--)
            kept[j] = kept[j - 1];
        kept[j] = numbers[i];
    }
    unsigned int next = 3;
    for (int i = 0; i < count; i++) {
        if ((unsigned int)kept[i] > next && close_descriptors(next, kept[i] - 1) < 0)
            fail("close_range");
        next = kept[i] + 1;
    }
    if (close_descriptors(next, ~0U) < 0)
        fail("close_range");
}

/* Opens every descriptor at its number; every other descriptor above 2 is closed. */
static void arrange_descriptors(struct descriptor *descriptors, int count)
{
    int temporary[MAX_ITEMS];
    /* Opened first at free high numbers, so a target number cannot clash with a path's own descriptor. */
    for (int i = 0; i < count; i++) {
        int fd = open(descriptors[i].path, descriptors[i].flags | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
            fail("open %s", descriptors[i].path);
        temporary[i] = fcntl(fd, F_DUPFD_CLOEXEC, 1024);
        if (temporary[i] < 0)
            fail("dup %s", descriptors[i].path);
        close(fd);
    }
    for (int i = 0; i < count; i++) {
        if (dup2(temporary[i], descriptors[i].number) < 0) /* dup2 clears close-on-exec */
            fail("dup2 %d", descriptors[i].number);
    }

    int kept[MAX_ITEMS];
    for (int i = 0; i < count; i++)
        kept[i] = descriptors[i].number;
    close_all_but(kept, count);
}

/* Whether path is root or below it. */
static int is_under(const char *path, const char *root)
{
    size_t length = strlen(root);
    return strncmp(path, root, length) == 0 && (path[length] == '\0' || path[length] == '/' || (length == 1 && root[0] == '/'));
}

/* Decodes mountinfo's octal escapes (a space is "\040") in place. */
static void unescape(char *text)
{
    char *out = text;
    for (char *in = text; *in != '\0'; in++) {
        if (in[0] == '\\' && in[1] >= '0' && in[1] <= '3' && in[2] >= '0' && in[2] <= '7' && in[3] >= '0' && in[3] <= '7') {
            *out++ = (char)((in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0'));
            in += 3;
        } else {
            *out++ = *in;
        }
    }
    *out = '\0';
}

/* Kernel and runtime file systems no sandbox binds: bwrap makes its own /proc, /dev and no /sys. */
static int is_host_only_type(const char *type)
{
    static const char *const types[] = {
        "sysfs", "cgroup", "cgroup2", "nsfs", "tracefs", "debugfs", "bpf", "securityfs", "pstore", "configfs",
        "fusectl", "binfmt_misc", "hugetlbfs", "mqueue", "efivarfs", "autofs", NULL,
    };
    for (int i = 0; types[i] != NULL; i++)
        if (strcmp(type, types[i]) == 0)
            return 1;
    return 0;
}

/*
 * A mount namespace of the launcher's own, without what the sandbox never uses: the other runs' workspace
 * mounts and the prepared roots of other kinds of run (everything below one of `roots` but each `keep`, its
 * parents and what is mounted under it) and the host's kernel file systems.
 * bwrap copies the namespace it starts in and re-reads the whole mount table after each of its bind mounts,
 * so every mount left here costs every run — fifty concurrent runs' workspaces cost each of them
 * milliseconds. Only an optimisation: bwrap's own namespace is what isolates. Without the privilege (a
 * container without CAP_SYS_ADMIN) it is skipped. The namespace is made a slave of the host's: the host's
 * mounts still propagate in (a ready sandbox's workspace arrives that way, onto `keep`), and nothing done
 * here propagates out; if it cannot be made so, nothing is unmounted.
 */
static int is_kept(const char *point, const char *const *keep, int keep_count)
{
    for (int k = 0; k < keep_count; k++)
        if (is_under(keep[k], point) || is_under(point, keep[k]))
            return 1;
    return 0;
}

static void drop_foreign_mounts(const char *const *roots, int root_count, const char *const *keep, int keep_count)
{
    if (unshare(CLONE_NEWNS) < 0)
        return;
    if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
        return;
    FILE *table = fopen("/proc/self/mountinfo", "re");
    if (table == NULL)
        return;
    char **points = NULL;
    size_t count = 0, room = 0;
    char *line = NULL;
    size_t capacity = 0;
    while (getline(&line, &capacity, table) > 0) {
        /* "id parent major:minor root mount-point options [optional...] - type source super-options" */
        char *fields[5], *cursor = line;
        int n = 0;
        for (; n < 5; n++) {
            fields[n] = strsep(&cursor, " ");
            if (fields[n] == NULL)
                break;
        }
        char *separator = cursor == NULL ? NULL : strstr(cursor, " - ");
        if (n < 5 || separator == NULL)
            continue;
        char *type = separator + 3;
        type[strcspn(type, " ")] = '\0';
        char *point = fields[4];
        unescape(point);
        int foreign = 0;
        for (int r = 0; r < root_count && !foreign; r++)
            foreign = is_under(point, roots[r]) && strcmp(point, roots[r]) != 0 && !is_kept(point, keep, keep_count);
        if (!(foreign || is_host_only_type(type)) || strcmp(point, "/") == 0)
            continue;
        if (count == room) {
            room = room == 0 ? 64 : room * 2;
            char **grown = realloc(points, room * sizeof *points);
            if (grown == NULL)
                break;
            points = grown;
        }
        if ((points[count] = strdup(point)) != NULL)
            count++;
    }
    free(line);
    fclose(table);
    /*
     * A detached mount takes everything mounted under it along (MNT_DETACH), and every umount that unmounts something
     * waits for an expedited RCU grace period (an interrupt on every CPU): so only the top of each dropped subtree is
     * detached — /sys with the dozen cgroup hierarchies under it is one call, not thirteen. A mount hidden under
     * another at the same place may stay; this is only an optimisation.
     */
    for (size_t p = 0; p < count; p++) {
        int covered = 0;
        for (size_t q = 0; q < count && !covered; q++)
            covered = q != p && strcmp(points[q], points[p]) != 0 && is_under(points[p], points[q]);
        if (!covered)
            umount2(points[p], MNT_DETACH);
    }
    for (size_t p = 0; p < count; p++)
        free(points[p]);
    free(points);
}

/*
 * contain: the sandbox itself, made by the launcher in place of bwrap for runs whose read-only root the server prepared
 * (BubblewrapMounts, PreparedRoot): the same namespaces, mounts, ids and restrictions bwrap gives such a run with the
 * arguments the server passes it, without bwrap's general machinery (a dynamically linked start, a mount table re-read
 * after every mount, a second pivot), which cost each run 8-11 ms of CPU against 2-3 ms here (docs/BENCHMARKS.md).
 *
 * The launcher is already the run's unprivileged host uid, with no_new_privs, in the run's cgroups, with its rlimits
 * and exactly its descriptors, as bwrap was started. It then
 *   - stays outside as the monitor (bwrap's parent process): dies with the server's launching thread, reports the
 *     sandbox's pid 1 ({"child-pid": N}) and its end ({"exit-code": N}, 128 + n for a signal) on the status
 *     descriptor as bwrap's --json-status-fd does, and exits as pid 1 did;
 *   - clones pid 1 into new user, mount, pid, ipc, uts and cgroup namespaces (and network, unless it joined one of
 *     the server's), which maps the sandbox uid and gid to the run's host ids alone (setgroups denied), makes every
 *     mount a slave of the host's, binds the prepared root onto itself and mounts on it /proc (the masked files under
 *     an unreadable, read-only /dev/null, the masked folders under an empty read-only tmpfs), /dev/shm and /tmp as
 *     tmpfs of the run's size and the workspace, brings a new network namespace's loopback up, sets the host name,
 *     pivots into the root and detaches the host's file system, enters the workspace, allows no further user
 *     namespace and enters a nested one (bwrap's --disable-userns), starts a session, keeps only the descriptors it is
 *     told to, drops every capability (bounding, ambient, effective, permitted, inheritable), loads the seccomp filter
 *     (which refuses every namespace flag and mount besides) and execs the command, our init, with exactly the
 *     environment given.
 * A failure anywhere before the exec ends pid 1 with 125 and a message; the server then reports the sandbox, not the
 * program, as failed.
 */
#define MAX_ENVIRONMENT 1024
#define MAX_FILTER_INSTRUCTIONS 4096

/* The kernel's own layouts (musl ships no kernel headers). */
struct filter_instruction {
    unsigned short code;
    unsigned char jump_true, jump_false;
    unsigned int value;
};
struct filter_program {
    unsigned short length;
    struct filter_instruction *instructions;
};
#define SECCOMP_SET_MODE_FILTER 1
#define LINUX_CAPABILITY_VERSION_3 0x20080522

struct containment {
    const char *root;
    const char *workspace;
    const char *workspace_at;
    const char *hostname;
    const char *tmpfs_size;
    const char *masked_files[MAX_ITEMS];
    const char *masked_folders[MAX_ITEMS];
    int masked_file_count, masked_folder_count;
    char *environment[MAX_ENVIRONMENT + 1];
    int environment_count;
    int passed[MAX_ITEMS];
    int passed_count;
    int status_fd;
    long sandbox_id;
    int joins_network;
    struct filter_instruction filter[MAX_FILTER_INSTRUCTIONS];
    int filter_length;
};

/* A path under /proc the server masks: plain relative names only. */
static const char *proc_name(const char *value)
{
    if (value[0] == '\0' || value[0] == '/' || strstr(value, "..") != NULL) {
        errno = 0;
        fail("invalid /proc name '%s'", value);
    }
    return value;
}

/* Read while still root: the filter file is in the server's private folder. */
static void read_filter(struct containment *sandbox, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        fail("open %s", path);
    size_t done = 0, room = sizeof sandbox->filter;
    ssize_t n;
    while (done < room && (n = read(fd, (char *)sandbox->filter + done, room - done)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            fail("read %s", path);
        done += (size_t)n;
    }
    char extra;
    errno = 0;
    if (done == 0 || done % sizeof sandbox->filter[0] != 0 || read(fd, &extra, 1) != 0)
        fail("%s is not a seccomp program of at most %d instructions", path, MAX_FILTER_INSTRUCTIONS);
    close(fd);
    sandbox->filter_length = (int)(done / sizeof sandbox->filter[0]);
}

/* The flags a bind must keep when it is remounted in a user namespace: the kernel locks those of the source's mount. */
static unsigned long locked_flags(const char *path)
{
    struct statvfs info;
    if (statvfs(path, &info) < 0)
        fail("statvfs %s", path);
    unsigned long flags = 0;
    static const struct { unsigned long status, mount; } pairs[] = {
        { ST_RDONLY, MS_RDONLY }, { ST_NOSUID, MS_NOSUID }, { ST_NODEV, MS_NODEV }, { ST_NOEXEC, MS_NOEXEC },
        { ST_NOATIME, MS_NOATIME }, { ST_NODIRATIME, MS_NODIRATIME }, { ST_RELATIME, MS_RELATIME },
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        if (info.f_flag & pairs[i].status)
            flags |= pairs[i].mount;
    return flags;
}

/* source shown at target, with flags added to what its own mount has (a bind without MS_REC shows no submounts). */
static void bind_mount(const char *source, const char *target, unsigned long flags, int recursive)
{
    if (mount(source, target, NULL, MS_BIND | (recursive ? MS_REC : 0), NULL) < 0)
        fail("bind %s on %s", source, target);
    if (mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | locked_flags(target) | flags, NULL) < 0)
        fail("remount %s", target);
}

static void mount_tmpfs(const char *target, const char *mode, const char *size, int read_only)
{
    char options[64];
    snprintf(options, sizeof options, "mode=%s,size=%s", mode, size);
    if (mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, options) < 0)
        fail("tmpfs on %s", target);
    if (read_only && mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
        fail("read-only %s", target);
}

static const char *under_root(const struct containment *sandbox, const char *path, char *buffer, size_t size)
{
    if ((size_t)snprintf(buffer, size, "%s/%s", sandbox->root, path[0] == '/' ? path + 1 : path) >= size) {
        errno = 0;
        fail("path too long under %s", sandbox->root);
    }
    return buffer;
}

/* Maps this process's own uid and gid (and only those) to `inside` in the user namespace it is in, no setgroups. */
static void map_own_ids(long inside, long outside_uid, long outside_gid)
{
    char map[64];
    write_file("/proc/self/setgroups", "deny");
    snprintf(map, sizeof map, "%ld %ld 1\n", inside, outside_uid);
    write_file("/proc/self/uid_map", map);
    snprintf(map, sizeof map, "%ld %ld 1\n", inside, outside_gid);
    write_file("/proc/self/gid_map", map);
}

static void bring_loopback_up(void)
{
    int socket_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (socket_fd < 0)
        fail("socket");
    struct ifreq request;
    memset(&request, 0, sizeof request);
    strcpy(request.ifr_name, "lo");
    if (ioctl(socket_fd, SIOCGIFFLAGS, &request) < 0)
        fail("loopback flags");
    request.ifr_flags |= IFF_UP;
    if (ioctl(socket_fd, SIOCSIFFLAGS, &request) < 0)
        fail("loopback up");
    close(socket_fd);
}

static void drop_capabilities(void)
{
    for (int capability = 0; capability < 64; capability++)
        if (prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) < 0 && errno != EINVAL)
            fail("drop capability %d", capability);
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        fail("clear ambient capabilities");
    struct { unsigned int version; int pid; } header = { LINUX_CAPABILITY_VERSION_3, 0 };
    struct { unsigned int effective, permitted, inheritable; } none[2] = { { 0, 0, 0 }, { 0, 0, 0 } };
    if (syscall(SYS_capset, &header, none) < 0)
        fail("capset");
}

/* pid 1 of the sandbox, in its new namespaces: the mounts, then everything that narrows what the command can do. */
static void set_up_sandbox(const struct containment *sandbox, char **command, long host_uid, long host_gid)
{
    char path[PATH_MAX];
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
        fail("die with the monitor");
    /* The uid change left the launcher not dumpable, which gives its /proc files to host root; the exec resets it anyway. */
    if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
        fail("dumpable");

    map_own_ids(sandbox->sandbox_id, host_uid, host_gid);

    if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
        fail("make the mounts slaves");
    /*
     * The root bound onto itself, with what is bound in it: the copy this namespace got of the server's mount is locked
     * (a less privileged namespace may not uncover what it hides), and pivot_root refuses a locked new root.
     */
    if (mount(sandbox->root, sandbox->root, NULL, MS_BIND | MS_REC, NULL) < 0)
        fail("bind %s", sandbox->root);
    if (mount("proc", under_root(sandbox, "/proc", path, sizeof path), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        fail("mount %s", path);
    char name[PATH_MAX];
    /*
     * As bwrap's --proc: the kernel's settings, the host's interrupts and buses read-only where the sandbox's uid could
     * write to them (access checks the real uid without capabilities: never, for a uid other than 0).
     */
    static const char *const read_only_proc[] = { "sys", "sysrq-trigger", "irq", "bus" };
    for (size_t i = 0; i < sizeof read_only_proc / sizeof read_only_proc[0]; i++) {
        snprintf(name, sizeof name, "/proc/%s", read_only_proc[i]);
        under_root(sandbox, name, path, sizeof path);
        if (access(path, W_OK) == 0)
            bind_mount(path, path, MS_RDONLY | MS_NOSUID | MS_NODEV, 1);
        else if (errno != EACCES && errno != ENOENT && errno != EROFS)
            fail("access %s", path);
    }
    for (int i = 0; i < sandbox->masked_file_count; i++) {
        snprintf(name, sizeof name, "/proc/%s", sandbox->masked_files[i]);
        bind_mount("/dev/null", under_root(sandbox, name, path, sizeof path), MS_RDONLY | MS_NOSUID | MS_NODEV, 0);
    }
    for (int i = 0; i < sandbox->masked_folder_count; i++) {
        snprintf(name, sizeof name, "/proc/%s", sandbox->masked_folders[i]);
        mount_tmpfs(under_root(sandbox, name, path, sizeof path), "0555", "4096", 1);
    }
    mount_tmpfs(under_root(sandbox, "/dev/shm", path, sizeof path), "0755", sandbox->tmpfs_size, 0);
    mount_tmpfs(under_root(sandbox, "/tmp", path, sizeof path), "1777", sandbox->tmpfs_size, 0);
    bind_mount(sandbox->workspace, under_root(sandbox, sandbox->workspace_at, path, sizeof path), MS_NOSUID | MS_NODEV, 1);

    if (!sandbox->joins_network)
        bring_loopback_up();
    if (sethostname(sandbox->hostname, strlen(sandbox->hostname)) < 0)
        fail("sethostname");

    /* The root on top of the host's, then the host's detached: nothing of it is reachable. */
    if (chdir(sandbox->root) < 0)
        fail("chdir %s", sandbox->root);
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        fail("pivot_root");
    if (umount2(".", MNT_DETACH) < 0)
        fail("detach the host's root");
    if (chdir(sandbox->workspace_at) < 0)
        fail("chdir %s", sandbox->workspace_at);

    /*
     * As bwrap's --disable-userns: no user namespace can be made below this one (the one made next uses up the limit),
     * and the command runs in that nested one, where its id maps name the sandbox's ids, not the host's, and it has no
     * capability over the namespaces made above (mounts, host name).
     */
    write_file("/proc/sys/user/max_user_namespaces", "1");
    if (unshare(CLONE_NEWUSER) < 0)
        fail("unshare the nested user namespace");
    map_own_ids(sandbox->sandbox_id, sandbox->sandbox_id, sandbox->sandbox_id);

    if (setsid() < 0)
        fail("setsid");
    close_all_but(sandbox->passed, sandbox->passed_count);
    drop_capabilities();
    /* Again: a change of credentials (the nested namespace, the capabilities) may have cleared it. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
        fail("die with the monitor");

    struct filter_program filter = { (unsigned short)sandbox->filter_length, (struct filter_instruction *)sandbox->filter };
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &filter) < 0)
        fail("seccomp");
    execve(command[0], command, (char *const *)sandbox->environment);
    fail("exec %s", command[0]);
}

static void report_json(int fd, const char *name, long value)
{
    char line[64];
    int length = snprintf(line, sizeof line, "{ \"%s\": %ld }\n", name, value);
    if (write(fd, line, (size_t)length) != length) {
        /* The server then has the monitor's exit status. */
    }
}

/* The monitor: starts pid 1 in its namespaces, reports it, waits for it and ends as it did. */
static int contain(const struct containment *sandbox, char **command, long host_uid, long host_gid)
{
    /* Dies with the server's launching thread (set after the uid change, which clears it); pid 1 dies with us. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
        fail("die with the server");
    unsigned long flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP
        | (sandbox->joins_network ? 0 : CLONE_NEWNET);
    long child = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
    if (child < 0 && errno == EINVAL) /* a kernel without cgroup namespaces: bwrap's --unshare-cgroup-try */
        child = syscall(SYS_clone, (flags & ~(unsigned long)CLONE_NEWCGROUP) | SIGCHLD, 0, 0, 0, 0);
    if (child < 0)
        fail("clone the sandbox's namespaces");
    if (child == 0)
        set_up_sandbox(sandbox, command, host_uid, host_gid);

    report_json(sandbox->status_fd, "child-pid", child);
    int status;
    while (waitpid((pid_t)child, &status, 0) < 0)
        if (errno != EINTR)
            fail("wait");
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    report_json(sandbox->status_fd, "exit-code", code);
    return code;
}

static int run(int argc, char **argv)
{
    struct descriptor descriptors[MAX_ITEMS];
    struct rlimit_setting limits[MAX_ITEMS];
    const char *cgroups[MAX_ITEMS];
    int descriptor_count = 0, limit_count = 0, cgroup_count = 0;
    const char *oom_score_adj = NULL;
    const char *foreign_roots[4];
    const char *kept_mounts[4];
    int kept_mount_count = 0;
    const char *network_namespace = NULL;
    int foreign_root_count = 0;
    long uid = -1, gid = -1;
    static struct containment sandbox = { .status_fd = -1, .sandbox_id = -1 };
    int i = 0;

    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        const char *option = argv[i];
        if (i + 1 >= argc)
            fail("%s needs a value", option);
        const char *value = argv[++i];
        if (descriptor_count >= MAX_ITEMS || limit_count >= MAX_ITEMS || cgroup_count >= MAX_ITEMS)
            fail("too many options");
        if (strcmp(option, "--cgroup") == 0) {
            cgroups[cgroup_count++] = value;
        } else if (strcmp(option, "--oom-score-adj") == 0) {
            parse_number(value, -1000, 1000, "oom_score_adj");
            oom_score_adj = value;
        } else if (strcmp(option, "--drop-mounts-under") == 0) {
            if (value[0] != '/' || strcmp(value, "/") == 0)
                fail("--drop-mounts-under needs an absolute path other than /");
            if (foreign_root_count >= 4)
                fail("--drop-mounts-under: at most 4");
            foreign_roots[foreign_root_count++] = value;
        } else if (strcmp(option, "--keep-mount") == 0) {
            if (value[0] != '/')
                fail("--keep-mount needs an absolute path");
            if (kept_mount_count >= 4)
                fail("--keep-mount: at most 4");
            kept_mounts[kept_mount_count++] = value;
        } else if (strcmp(option, "--netns") == 0) {
            if (value[0] != '/')
                fail("--netns needs an absolute path");
            network_namespace = value;
        } else if (strcmp(option, "--contain") == 0 || strcmp(option, "--workspace") == 0 || strcmp(option, "--workspace-at") == 0) {
            if (value[0] != '/' || strcmp(value, "/") == 0)
                fail("%s needs an absolute path other than /", option);
            *(strcmp(option, "--contain") == 0 ? &sandbox.root : strcmp(option, "--workspace") == 0 ? &sandbox.workspace
                : &sandbox.workspace_at) = value;
        } else if (strcmp(option, "--hostname") == 0) {
            if (value[0] == '\0' || strlen(value) > 64)
                fail("invalid host name '%s'", value);
            sandbox.hostname = value;
        } else if (strcmp(option, "--tmpfs-size") == 0) {
            parse_number(value, 4096, LONG_MAX, "tmpfs size");
            sandbox.tmpfs_size = value;
        } else if (strcmp(option, "--mask-file") == 0 || strcmp(option, "--mask-folder") == 0) {
            if (sandbox.masked_file_count >= MAX_ITEMS || sandbox.masked_folder_count >= MAX_ITEMS)
                fail("too many masks");
            if (strcmp(option, "--mask-file") == 0)
                sandbox.masked_files[sandbox.masked_file_count++] = proc_name(value);
            else
                sandbox.masked_folders[sandbox.masked_folder_count++] = proc_name(value);
        } else if (strcmp(option, "--setenv") == 0) {
            if (strchr(value, '=') == NULL || value[0] == '=')
                fail("--setenv expects NAME=VALUE, got '%s'", value);
            if (sandbox.environment_count >= MAX_ENVIRONMENT)
                fail("more than %d environment variables", MAX_ENVIRONMENT);
            sandbox.environment[sandbox.environment_count++] = (char *)value;
        } else if (strcmp(option, "--pass-fd") == 0) {
            if (sandbox.passed_count >= MAX_ITEMS)
                fail("too many descriptors passed");
            sandbox.passed[sandbox.passed_count++] = (int)parse_number(value, 3, 1000, "descriptor");
        } else if (strcmp(option, "--status-fd") == 0) {
            sandbox.status_fd = (int)parse_number(value, 3, 1000, "descriptor");
        } else if (strcmp(option, "--sandbox-id") == 0) {
            sandbox.sandbox_id = parse_number(value, 0, INT_MAX - 1, "sandbox id");
        } else if (strcmp(option, "--seccomp") == 0) {
            read_filter(&sandbox, value);
        } else if (strcmp(option, "--uid") == 0) {
            uid = parse_number(value, 1, INT_MAX - 1, "uid");
        } else if (strcmp(option, "--gid") == 0) {
            gid = parse_number(value, 1, INT_MAX - 1, "gid");
        } else if (strcmp(option, "--rlimit") == 0 || strcmp(option, "--fd") == 0 || strcmp(option, "--fd-out") == 0) {
            const char *equals = strchr(value, '=');
            if (equals == NULL || equals == value)
                fail("%s expects NAME=VALUE, got '%s'", option, value);
            char name[32];
            size_t length = (size_t)(equals - value);
            if (length >= sizeof name)
                fail("%s: name too long", option);
            memcpy(name, value, length);
            name[length] = '\0';
            if (strcmp(option, "--rlimit") == 0) {
                limits[limit_count].resource = resource_named(name);
                limits[limit_count++].value = (rlim_t)parse_number(equals + 1, 0, LONG_MAX, "rlimit value");
            } else {
                descriptors[descriptor_count].number = (int)parse_number(name, 3, 1000, "descriptor");
                descriptors[descriptor_count].path = equals + 1;
                descriptors[descriptor_count++].flags =
                    strcmp(option, "--fd") == 0 ? O_RDONLY : O_WRONLY | O_CREAT | O_TRUNC;
            }
        } else {
            errno = 0;
            fail("unknown option '%s'", option);
        }
    }
    if (i + 1 >= argc) {
        errno = 0;
        fail("run: no command after --");
    }
    if ((uid < 0) != (gid < 0)) {
        errno = 0;
        fail("--uid and --gid go together");
    }
    char **command = argv + i + 1;
    if (sandbox.root != NULL) {
        errno = 0;
        if (uid < 0 || sandbox.workspace == NULL || sandbox.workspace_at == NULL || sandbox.hostname == NULL
            || sandbox.tmpfs_size == NULL || sandbox.status_fd < 0 || sandbox.sandbox_id < 0 || sandbox.filter_length == 0)
            fail("--contain needs --uid, --gid, --workspace, --workspace-at, --hostname, --tmpfs-size, --status-fd, "
                 "--sandbox-id and --seccomp");
        if (command[0][0] != '/')
            fail("--contain: the command must be an absolute path inside the root");
        sandbox.joins_network = network_namespace != NULL;
        /* As bwrap's --chdir: PWD names the folder the command starts in, whatever was given. */
        static char working_folder[PATH_MAX + 8];
        if ((size_t)snprintf(working_folder, sizeof working_folder, "PWD=%s", sandbox.workspace_at) >= sizeof working_folder)
            fail("--workspace-at too long");
        int e = 0;
        while (e < sandbox.environment_count && strncmp(sandbox.environment[e], "PWD=", 4) != 0)
            e++;
        if (e == MAX_ENVIRONMENT)
            fail("more than %d environment variables", MAX_ENVIRONMENT);
        sandbox.environment[e] = working_folder;
        if (e == sandbox.environment_count)
            sandbox.environment_count++;
    }

    /* Raising the score needs no privilege, and nothing after us can lower it without CAP_SYS_RESOURCE. */
    if (oom_score_adj != NULL)
        write_file("/proc/self/oom_score_adj", oom_score_adj);

    /* "0" names the writer itself, in v1 and v2 alike: from here on every process is accounted to the run. */
    for (int c = 0; c < cgroup_count; c++)
        write_file(cgroups[c], "0");

    /*
     * A network namespace the server made ahead and holds (its descriptor in /proc): joined while we are still root
     * and /proc is still there; bwrap then makes none (the kernel's set-up and clean-up of one per run is the cost).
     */
    if (network_namespace != NULL) {
        int ns = open(network_namespace, O_RDONLY | O_CLOEXEC);
        if (ns < 0)
            fail("open %s", network_namespace);
        if (setns(ns, CLONE_NEWNET) < 0)
            fail("setns %s", network_namespace);
        close(ns);
    }

    arrange_descriptors(descriptors, descriptor_count);

    /* Still privileged here; the run's cgroups are joined, so their file systems can go. */
    if (foreign_root_count > 0)
        drop_foreign_mounts(foreign_roots, foreign_root_count, kept_mounts, kept_mount_count);

    for (int l = 0; l < limit_count; l++) {
        struct rlimit limit = { limits[l].value, limits[l].value };
        if (setrlimit(limits[l].resource, &limit) < 0)
            fail("setrlimit");
    }

    if (uid >= 0) {
        if (setgroups(0, NULL) < 0)
            fail("setgroups");
        if (setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) < 0)
            fail("setresgid %ld", gid);
        if (setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) < 0)
            fail("setresuid %ld", uid);
    }

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        fail("no_new_privs");

    /* The server's signal dispositions and mask must not reach the sandbox. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    if (sandbox.root != NULL)
        return contain(&sandbox, command, uid, gid);
    execv(command[0], command);
    fail("exec %s", command[0]);
    return EXIT_SETUP_FAILED;
}

static void report(int status_fd, const char *what, int value)
{
    char line[64];
    int length = snprintf(line, sizeof line, "%s %d\n", what, value);
    if (write(status_fd, line, (size_t)length) != length) {
        /* Nothing to do: the server then falls back to bwrap's exit status. */
    }
}

/* Reads exactly length bytes from fd; false on end of input or error. */
static int read_exactly(int fd, char *buffer, size_t length)
{
    size_t done = 0;
    while (done < length) {
        ssize_t n = read(fd, buffer + done, length - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        done += (size_t)n;
    }
    return 1;
}

/*
 * The command arrives on stdin, ahead of the program's own input, so a sandbox can be set up before
 * anyone knows what it will run: a 4-byte little-endian length, then that many bytes of NUL-ended
 * strings — the working folder, then argv. Exactly those bytes are read; everything after them is
 * the program's. End of input before a command ends the sandbox quietly (a ready sandbox the server
 * no longer wants).
 */
static char **read_command(char **directory)
{
    static char payload[MAX_COMMAND_BYTES + 1];
    static char *arguments[MAX_ARGUMENTS + 1];
    unsigned char header[4];
    if (!read_exactly(0, (char *)header, sizeof header))
        _exit(0);
    size_t length = (size_t)header[0] | (size_t)header[1] << 8 | (size_t)header[2] << 16 | (size_t)header[3] << 24;
    errno = 0;
    if (length < 4 || length > MAX_COMMAND_BYTES)
        fail("command of %zu bytes", length);
    if (!read_exactly(0, payload, length))
        fail("command cut short");
    if (payload[length - 1] != '\0')
        fail("command not NUL-ended");
    payload[length] = '\0';

    int count = 0;
    *directory = payload;
    for (char *next = payload + strlen(payload) + 1; next < payload + length; next += strlen(next) + 1) {
        if (count >= MAX_ARGUMENTS)
            fail("more than %d arguments", MAX_ARGUMENTS);
        arguments[count++] = next;
    }
    if (count == 0 || arguments[0][0] == '\0' || (*directory)[0] == '\0')
        fail("no program or no folder in the command");
    arguments[count] = NULL;
    return arguments;
}

/*
 * A program starts as from a terminal: every signal at its default, none blocked. What the server
 * ignores (.NET ignores SIGPIPE) comes down through bwrap and fork, and our own mask blocks everything.
 */
static void give_program_default_signals(void)
{
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            signal(s, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

static int init(int argc, char **argv)
{
    if (argc != 1) {
        errno = 0;
        fail("usage: init STATUS_FD (the command follows on stdin)");
    }
    int status_fd = (int)parse_number(argv[0], 3, 1000, "status descriptor");

    /* Not ptraceable, and /proc/1/fd, /proc/1/mem are closed to the program (same uid otherwise). */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        fail("dumpable");

    char *directory;
    char **command = read_command(&directory);

    pid_t program = fork();
    if (program < 0)
        fail("fork");
    if (program == 0) {
        /* A session and process group of its own: a terminal's Ctrl+C goes to the group. */
        setsid();
        close_descriptors(3, ~0U);
        give_program_default_signals();
        /* Again, by name: a folder mounted on the path after the sandbox was set up now shows. */
        if (chdir(directory) < 0) {
            fprintf(stderr, "%s: %s\n", directory, strerror(errno));
            _exit(EXIT_NOT_EXECUTABLE);
        }
        execvp(command[0], command);
        int error = errno;
        fprintf(stderr, "%s: %s\n", command[0], strerror(error));
        _exit(error == ENOENT ? EXIT_NOT_FOUND : EXIT_NOT_EXECUTABLE);
    }

    /* Reap everything; the program's own end is the sandbox's end (our exit kills the namespace). */
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, __WALL);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            fail("wait");
        }
        if (pid != program)
            continue;
        if (WIFEXITED(status)) {
            report(status_fd, "exited", WEXITSTATUS(status));
            return WEXITSTATUS(status);
        }
        if (WIFSIGNALED(status)) {
            report(status_fd, "signaled", WTERMSIG(status));
            return 128 + WTERMSIG(status);
        }
    }
}

/*
 * supervise: the parent of one run of the process sandbox (a runner serving one session, where the
 * container or pod is the isolation boundary). It becomes the child subreaper, so whatever the
 * program starts stays under it even when it leaves the program's session with setsid, starts the
 * command in a session of its own and lets go of its own standard streams. Signals sent to it go on
 * to the program's process group; IRIS_END_RUN_SIGNAL ends the run. When the program ends, or the
 * run is ended, everything left under it is killed and reaped, so nothing of the run outlives it or
 * holds its output open. It then exits as the program did (128+n for a signal).
 */
#define IRIS_END_RUN_SIGNAL 40

/* Adds to pids (up to max) the children of this process that one line of text lists. */
static int parse_pids(const char *text, pid_t *pids, int count, int max)
{
    for (const char *next = text; *next != '\0' && count < max;) {
        char *end;
        long pid = strtol(next, &end, 10);
        if (end == next)
            break;
        if (pid > 1)
            pids[count++] = (pid_t)pid;
        next = end;
    }
    return count;
}

/*
 * The children of this (single-threaded) process: its children file, or where the kernel has none (gVisor) every
 * process in /proc whose parent we are.
 */
static int list_children(pid_t *pids, int max)
{
    static char buffer[65536];
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t length = read(fd, buffer, sizeof buffer - 1);
        close(fd);
        buffer[length < 0 ? 0 : length] = '\0';
        return parse_pids(buffer, pids, 0, max);
    }

    int count = 0;
    DIR *proc = opendir("/proc");
    if (proc == NULL)
        return 0;
    struct dirent *entry;
    while ((entry = readdir(proc)) != NULL && count < max) {
        char *end;
        long pid = strtol(entry->d_name, &end, 10);
        if (pid <= 1 || *end != '\0')
            continue;
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t length = read(fd, buffer, 1023);
        close(fd);
        if (length <= 0)
            continue;
        buffer[length] = '\0';
        /* "pid (comm) state ppid ...": comm may hold anything, so parse after its last ')'. */
        char *after = strrchr(buffer, ')');
        long parent = after == NULL ? 0 : strtol(after + 3, NULL, 10);
        if (parent == (long)getpid())
            pids[count++] = (pid_t)pid;
    }
    closedir(proc);
    return count;
}

/* SIGKILLs every child of ours; the number of children seen. */
static int kill_children(void)
{
    static pid_t pids[8192];
    int count = list_children(pids, (int)(sizeof pids / sizeof pids[0]));
    for (int i = 0; i < count; i++)
        kill(pids[i], SIGKILL);
    return count;
}

/*
 * Kills and reaps everything under us until no child is left. A killed process's own children are
 * re-parented to us (the subreaper) and killed on the next pass; a fork loop ends at its rlimit.
 * Where we cannot be the subreaper (gVisor), the program's process group goes first, so what stayed
 * in it is not re-parented past us when its parent dies.
 */
static void end_everything(pid_t program, int *program_status, int *program_reaped)
{
    kill(-program, SIGKILL);
    for (;;) {
        int seen = kill_children();
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG | __WALL)) > 0) {
            if (pid == program && !*program_reaped) {
                *program_status = status;
                *program_reaped = 1;
            }
        }
        if (pid < 0 && errno == ECHILD)
            return;
        if (seen == 0)
            usleep(1000);
    }
}

static int supervise(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[0], "--") != 0) {
        errno = 0;
        fail("usage: supervise -- command...");
    }
    char **command = argv + 1;
    if (IRIS_END_RUN_SIGNAL < SIGRTMIN || IRIS_END_RUN_SIGNAL > SIGRTMAX) {
        errno = 0;
        fail("signal %d is not a real-time signal here", IRIS_END_RUN_SIGNAL);
    }

    /* Dies with the server's launcher thread; the program has the same death signal from us. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
        fail("prctl");
    /*
     * gVisor refuses this to all but its pid 1: there a child that leaves the program's session and
     * outlives its parent goes to the container's init, and only the container's end ends it.
     */
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    /* Not ptraceable by the program; its descriptors and memory are not open to it through /proc. */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        fail("dumpable");

    /* Everything that can be caught is taken with sigwaitinfo, never by a handler; SIGCHLD must not be ignored. */
    signal(SIGCHLD, SIG_DFL);
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);

    pid_t program = fork();
    if (program < 0)
        fail("fork");
    if (program == 0) {
        setsid();
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
            _exit(EXIT_SETUP_FAILED);
        give_program_default_signals();
        execv(command[0], command);
        int error = errno;
        fprintf(stderr, "iris-launch: exec %s: %s\n", command[0], strerror(error));
        _exit(error == ENOENT ? EXIT_NOT_FOUND : EXIT_NOT_EXECUTABLE);
    }

    /* The program holds the streams now: the server's end of each sees EOF when the program's side is gone. */
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        close(null);
    }

    int status = 0, reaped = 0, ended = 0;
    while (!reaped) {
        siginfo_t info;
        int signal = sigwaitinfo(&all, &info);
        if (signal < 0)
            continue;
        if (signal == SIGCHLD) {
            pid_t pid;
            int child_status;
            while ((pid = waitpid(-1, &child_status, WNOHANG | __WALL)) > 0) {
                if (pid == program) {
                    status = child_status;
                    reaped = 1;
                }
            }
        } else if (signal == IRIS_END_RUN_SIGNAL) {
            ended = 1;
            end_everything(program, &status, &reaped);
        } else {
            kill(-program, signal);
        }
    }
    if (!ended)
        end_everything(program, &status, &reaped);

    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
    /* Inside the sandbox the file is /.iris/init, so pid 1's command line names no host path or mode. */
    const char *name = strrchr(argv[0], '/');
    if (strcmp(name == NULL ? argv[0] : name + 1, "init") == 0)
        return init(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "run") == 0)
        return run(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "init") == 0)
        return init(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "supervise") == 0)
        return supervise(argc - 2, argv + 2);
    fputs("usage: iris-launch run [options] -- command...\n"
          "       iris-launch init STATUS_FD   (command on stdin)\n"
          "       iris-launch supervise -- command...\n", stderr);
    return EXIT_SETUP_FAILED;
}
