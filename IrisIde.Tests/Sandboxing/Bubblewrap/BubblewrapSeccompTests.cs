using IrisIde.Execution.Sandboxing;

namespace IrisIde.Tests.Sandboxing.Bubblewrap;

/// <summary>
/// Issue 9, finding 3: every program runs under the seccomp filter (Launcher/native/seccomp-policy.c).
/// The kernel calls a hostile program reached before are refused with the filter's errno, only the
/// socket families a program needs can be created, and a program cannot wedge its run by tracing pid 1.
/// </summary>
[Trait("Needs", "Bubblewrap")]
[Collection(nameof(BubblewrapSandboxTests))]
public sealed class BubblewrapSeccompTests(BubblewrapSandboxFixture fixture) : IClassFixture<BubblewrapSandboxFixture>
{
    /// <summary>Tries each call with harmless arguments and prints <c>name ERRNO</c>, or <c>name ok</c>.</summary>
    private const string DeniedCallsProgram = """
        #define _GNU_SOURCE
        #include <errno.h>
        #include <fcntl.h>
        #include <linux/bpf.h>
        #include <linux/io_uring.h>
        #include <linux/perf_event.h>
        #include <pthread.h>
        #include <sched.h>
        #include <signal.h>
        #include <stdio.h>
        #include <string.h>
        #include <sys/personality.h>
        #include <sys/ptrace.h>
        #include <sys/syscall.h>
        #include <sys/uio.h>
        #include <sys/wait.h>
        #include <unistd.h>

        static void report(const char *name, long result)
        {
            printf("%s %s\n", name, result < 0 ? strerrorname_np(errno) : "ok");
        }

        static void *thread_main(void *arg) { return arg; }

        /* Should a clone get through, its child must not run the rest of the probe. */
        static long clone_flags(unsigned long flags)
        {
            long result = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
            if (result == 0)
                _exit(0);
            return result;
        }

        int main(void)
        {
            struct io_uring_params uring = { 0 };
            char buffer[16];
            struct iovec local = { buffer, sizeof buffer }, remote = { NULL, sizeof buffer };
            union bpf_attr bpf;
            memset(&bpf, 0, sizeof bpf);
            struct perf_event_attr perf = { .type = PERF_TYPE_SOFTWARE, .size = sizeof perf };
            struct timespec epoch = { 0, 0 };

            report("io_uring_setup", syscall(SYS_io_uring_setup, 4, &uring));
            report("io_uring_enter", syscall(SYS_io_uring_enter, 0, 0, 0, 0, NULL, 0));
            report("io_uring_register", syscall(SYS_io_uring_register, 0, 0, NULL, 0));
            report("add_key", syscall(SYS_add_key, "user", "iris", "secret", 6, -2));
            report("keyctl", syscall(SYS_keyctl, 0, -4, 1));
            report("request_key", syscall(SYS_request_key, "user", "iris", NULL, 0));
            report("ptrace", syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0));
            report("process_vm_readv", syscall(SYS_process_vm_readv, getppid(), &local, 1, &remote, 1, 0));
            report("process_vm_writev", syscall(SYS_process_vm_writev, getppid(), &local, 1, &remote, 1, 0));
            report("kcmp", syscall(SYS_kcmp, getpid(), getppid(), 0, 0, 0));
            report("pidfd_getfd", syscall(SYS_pidfd_getfd, 0, 0, 0));
            report("personality(READ_IMPLIES_EXEC)", syscall(SYS_personality, READ_IMPLIES_EXEC));
            report("personality(ADDR_NO_RANDOMIZE)", syscall(SYS_personality, ADDR_NO_RANDOMIZE));
            report("personality(query)", syscall(SYS_personality, 0xffffffffUL));
            report("userfaultfd", syscall(SYS_userfaultfd, 0));
            report("bpf", syscall(SYS_bpf, BPF_MAP_CREATE, &bpf, sizeof bpf));
            report("perf_event_open", syscall(SYS_perf_event_open, &perf, 0, -1, -1, 0));
            report("unshare(CLONE_NEWUSER)", syscall(SYS_unshare, CLONE_NEWUSER));
            report("setns", syscall(SYS_setns, 0, 0));
            report("clone(CLONE_NEWNS)", clone_flags(CLONE_NEWNS));
            report("clone(CLONE_NEWPID)", clone_flags(CLONE_NEWPID));
            report("clone3", syscall(SYS_clone3, NULL, 0));
            report("mount", syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, NULL));
            report("umount2", syscall(SYS_umount2, "/tmp", 0));
            report("pivot_root", syscall(SYS_pivot_root, "/tmp", "/tmp"));
            report("chroot", syscall(SYS_chroot, "/tmp"));
            report("fsopen", syscall(SYS_fsopen, "tmpfs", 0));
            report("open_tree", syscall(SYS_open_tree, AT_FDCWD, "/tmp", 0));
            report("init_module", syscall(SYS_init_module, NULL, 0, ""));
            report("finit_module", syscall(SYS_finit_module, 0, "", 0));
            report("delete_module", syscall(SYS_delete_module, "x", 0));
            report("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0));
            report("reboot", syscall(SYS_reboot, 0xfee1dead, 0x28121969, 0x4321fedc, NULL));
            report("swapon", syscall(SYS_swapon, "/tmp/swap", 0));
            report("syslog", syscall(SYS_syslog, 10, NULL, 0));
            report("clock_settime", syscall(SYS_clock_settime, CLOCK_REALTIME, &epoch));
            report("iopl", syscall(SYS_iopl, 3));
            report("open_by_handle_at", syscall(SYS_open_by_handle_at, AT_FDCWD, NULL, 0));
            report("name_to_handle_at", syscall(SYS_name_to_handle_at, AT_FDCWD, ".", NULL, NULL, 0));

            pthread_t thread;
            int created = pthread_create(&thread, NULL, thread_main, NULL);
            errno = created;
            report("pthread_create", created == 0 ? pthread_join(thread, NULL) : -1);
            pid_t child = fork();
            if (child == 0)
                _exit(0);
            report("fork", child < 0 ? -1 : waitpid(child, NULL, 0));
            return 0;
        }
        """;

    private Task<RunOutput> RunAsync(TestWorkspace workspace, string[] command) =>
        SandboxRunner.RunAsync(fixture.Sandbox, workspace, command);

    [Fact]
    public async Task The_program_and_the_sandbox_pid_1_run_in_seccomp_filter_mode()
    {
        using var workspace = new TestWorkspace();

        var run = await RunAsync(workspace, ["sh", "-c", "grep Seccomp: /proc/self/status /proc/1/status"]);

        Assert.Equal(Verdict.Ok, run.Result.Verdict);
        Assert.Equal("/proc/self/status:Seccomp:\t2\n/proc/1/status:Seccomp:\t2\n", run.Stdout);
    }

    [Fact]
    public async Task Denied_calls_fail_with_eperm_or_enosys_and_threads_and_fork_still_work()
    {
        using var workspace = new TestWorkspace();
        workspace.Write("probe.c", DeniedCallsProgram);
        var compile = await RunAsync(workspace, ["gcc", "-O2", "-pthread", "-o", "probe", "probe.c"]);
        Assert.True(compile.Result.Verdict == Verdict.Ok, compile.Stderr);

        var run = await RunAsync(workspace, ["./probe"]);

        Assert.Equal(Verdict.Ok, run.Result.Verdict);
        var expected = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            // ENOSYS: callers fall back (libuv to epoll, glibc from clone3 to clone).
            ["io_uring_setup"] = "ENOSYS",
            ["io_uring_enter"] = "ENOSYS",
            ["io_uring_register"] = "ENOSYS",
            ["clone3"] = "ENOSYS",
            ["add_key"] = "EPERM",
            ["keyctl"] = "EPERM",
            ["request_key"] = "EPERM",
            ["ptrace"] = "EPERM",
            ["process_vm_readv"] = "EPERM",
            ["process_vm_writev"] = "EPERM",
            ["kcmp"] = "EPERM",
            ["pidfd_getfd"] = "EPERM",
            ["personality(READ_IMPLIES_EXEC)"] = "EPERM",
            ["personality(ADDR_NO_RANDOMIZE)"] = "EPERM",
            ["personality(query)"] = "ok",
            ["userfaultfd"] = "EPERM",
            ["bpf"] = "EPERM",
            ["perf_event_open"] = "EPERM",
            ["unshare(CLONE_NEWUSER)"] = "EPERM",
            ["setns"] = "EPERM",
            ["clone(CLONE_NEWNS)"] = "EPERM",
            ["clone(CLONE_NEWPID)"] = "EPERM",
            ["mount"] = "EPERM",
            ["umount2"] = "EPERM",
            ["pivot_root"] = "EPERM",
            ["chroot"] = "EPERM",
            ["fsopen"] = "EPERM",
            ["open_tree"] = "EPERM",
            ["init_module"] = "EPERM",
            ["finit_module"] = "EPERM",
            ["delete_module"] = "EPERM",
            ["kexec_load"] = "EPERM",
            ["reboot"] = "EPERM",
            ["swapon"] = "EPERM",
            ["syslog"] = "EPERM",
            ["clock_settime"] = "EPERM",
            ["iopl"] = "EPERM",
            ["open_by_handle_at"] = "EPERM",
            ["name_to_handle_at"] = "EPERM",
            ["pthread_create"] = "ok",
            ["fork"] = "ok",
        };
        Assert.Equal(expected, ParseReport(run.Stdout));
    }

    [Fact]
    public async Task Only_unix_and_internet_sockets_can_be_created()
    {
        using var workspace = new TestWorkspace();
        const string Program = """
            import errno, socket
            families = [('AF_UNIX', 1, socket.SOCK_STREAM), ('AF_INET', 2, socket.SOCK_STREAM), ('AF_INET6', 10, socket.SOCK_DGRAM),
                        ('AF_KEY', 15, socket.SOCK_RAW), ('AF_NETLINK', 16, socket.SOCK_RAW), ('AF_PACKET', 17, socket.SOCK_RAW),
                        ('AF_ALG', 38, socket.SOCK_SEQPACKET), ('AF_VSOCK', 40, socket.SOCK_STREAM)]
            for name, family, kind in families:
                try:
                    socket.socket(family, kind).close()
                    print(name, 'ok')
                except OSError as error:
                    print(name, errno.errorcode[error.errno])
            for name, family in [('socketpair(AF_UNIX)', socket.AF_UNIX), ('socketpair(AF_NETLINK)', 16)]:
                try:
                    socket.socketpair(family)
                    print(name, 'ok')
                except OSError as error:
                    print(name, errno.errorcode[error.errno])
            server = socket.create_server(('127.0.0.1', 0))
            client = socket.create_connection(server.getsockname(), timeout=5)
            client.sendall(b'x')
            print('tcp-loopback', 'ok' if server.accept()[0].recv(1) == b'x' else 'lost')
            """;

        var run = await RunAsync(workspace, ["python3", "-c", Program]);

        Assert.True(run.Result.Verdict == Verdict.Ok, run.Stderr);
        var expected = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["AF_UNIX"] = "ok",
            ["AF_INET"] = "ok",
            ["AF_INET6"] = "ok",
            ["AF_KEY"] = "EAFNOSUPPORT",
            ["AF_NETLINK"] = "EAFNOSUPPORT",
            ["AF_PACKET"] = "EAFNOSUPPORT",
            ["AF_ALG"] = "EAFNOSUPPORT",
            ["AF_VSOCK"] = "EAFNOSUPPORT",
            ["socketpair(AF_UNIX)"] = "ok",
            ["socketpair(AF_NETLINK)"] = "EAFNOSUPPORT",
            ["tcp-loopback"] = "ok",
        };
        Assert.Equal(expected, ParseReport(run.Stdout));
    }

    [Fact]
    public async Task Attaching_to_pid_1_is_refused_and_the_run_ends_with_the_program()
    {
        using var workspace = new TestWorkspace();
        const string Program = """
            import ctypes, errno
            libc = ctypes.CDLL(None, use_errno=True)
            result = libc.ptrace(16, 1, None, None)  # PTRACE_ATTACH
            print(result, errno.errorcode.get(ctypes.get_errno(), 'ok'))
            """;

        var run = await RunAsync(workspace, ["python3", "-c", Program]);

        Assert.Equal("-1 EPERM\n", run.Stdout);
        Assert.Equal(Verdict.Ok, run.Result.Verdict);
        Assert.True(run.Result.WallTime < TimeSpan.FromSeconds(5), $"wall {run.Result.WallTime}");
        await fixture.AssertNothingLeftAndHelloWorldWorksAsync();
    }

    [Theory]
    // getpid through the i386 ABI. SIGSYS from the filter; SIGSEGV where the kernel has no int 0x80
    // gate at all (ia32_emulation=0, some hypervisors): the call never runs either way.
    [InlineData("i386", "long nr = 20; __asm__ volatile(\"int $0x80\" : \"+a\"(nr) : : \"memory\");", new[] { 31, 11 })]
    // getpid through the x32 ABI: x86_64's audit arch, with the 0x40000000 bit.
    [InlineData("x32", "syscall(0x40000000 | SYS_getpid);", new[] { 31 })]
    public async Task A_syscall_through_a_foreign_abi_kills_the_program(string abi, string call, int[] signals)
    {
        using var workspace = new TestWorkspace();
        workspace.Write("abi.c", $$"""
            #define _GNU_SOURCE
            #include <stdio.h>
            #include <sys/syscall.h>
            #include <unistd.h>
            int main(void)
            {
                {{call}}
                puts("the call returned");
                return 0;
            }
            """);
        var compile = await RunAsync(workspace, ["gcc", "-O2", "-o", "abi", "abi.c"]);
        Assert.True(compile.Result.Verdict == Verdict.Ok, compile.Stderr);

        var run = await RunAsync(workspace, ["./abi"]);

        Assert.Equal("", run.Stdout);
        Assert.Equal(Verdict.RuntimeError, run.Result.Verdict);
        Assert.True(run.Result.Signal is { } signal && signals.Contains(signal), $"{abi}: signal {run.Result.Signal}, exit {run.Result.ExitCode}");
        await fixture.AssertNothingLeftAndHelloWorldWorksAsync();
    }

    private static Dictionary<string, string> ParseReport(string stdout) =>
        stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ', 2))
            .ToDictionary(parts => parts[0], parts => parts.Length > 1 ? parts[1] : "", StringComparer.Ordinal);
}
