using System.Globalization;
using IrisIde.Execution.Sandboxing.Launcher;

namespace IrisIde.Execution.Sandboxing.Bubblewrap;

/// <summary>
/// What a run sees of the host's file system: the bwrap arguments that build the sandbox's root
/// (read-only toolchains, a synthetic /etc, private /proc, /dev, /tmp, /dev/shm, the workspace).
/// </summary>
internal sealed class BubblewrapMounts(BubblewrapOptions options, Func<string> runtimeDirectory)
{
    private static readonly string[] RootLinksAndDirectories = ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

    // Only what toolchains read: the dynamic linker cache, `alternatives` (java, cc), the JDK's
    // configuration, certificates and the time zone. Never the host /etc wholesale.
    private static readonly string[] EtcEntries =
        ["/etc/alternatives", "/etc/ld.so.cache", "/etc/java-17-openjdk", "/etc/ssl/certs", "/etc/localtime"];

    /// <summary>The synthetic files of the sandbox's /etc, by name; written once into the runtime directory.</summary>
    public IReadOnlyDictionary<string, string> SyntheticEtcFiles(int sandboxUid)
    {
        var uid = sandboxUid.ToString(CultureInfo.InvariantCulture);
        return new Dictionary<string, string>
        {
            ["passwd"] = $"root:x:0:0:root:/root:/usr/sbin/nologin\niris:x:{uid}:{uid}:iris:{SandboxSpec.SandboxWorkspacePath}:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
            ["group"] = $"root:x:0:\niris:x:{uid}:\nnogroup:x:65534:\n",
            ["hosts"] = $"127.0.0.1\tlocalhost {options.Hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n",
        };
    }

    /// <summary>
    /// The mount arguments, in order. Host files bwrap must read by descriptor are registered with
    /// <paramref name="files"/>, which the launcher opens before it execs bwrap.
    /// </summary>
    public IEnumerable<string> Arguments(SandboxSpec spec, string workspace, LauncherFiles files)
    {
        _ = files;
        var tmpfsSize = options.TmpfsSizeBytes.ToString(CultureInfo.InvariantCulture);
        yield return "--ro-bind";
        yield return "/usr";
        yield return "/usr";

        // Mirror the host's merged-/usr layout: /bin, /lib64, ... are symlinks into /usr on Debian.
        foreach (var path in RootLinksAndDirectories)
        {
            var info = new FileInfo(path);
            if (info.LinkTarget is { } target)
            {
                yield return "--symlink";
                yield return target;
                yield return path;
            }
            else if (Directory.Exists(path))
            {
                yield return "--ro-bind";
                yield return path;
                yield return path;
            }
        }

        foreach (var path in EtcEntries)
        {
            yield return "--ro-bind-try";
            yield return path;
            yield return path;
        }

        foreach (var file in new[] { "passwd", "group", "hosts" })
        {
            yield return "--ro-bind";
            yield return Path.Combine(runtimeDirectory(), file);
            yield return "/etc/" + file;
        }

        foreach (var bind in options.ExtraReadOnlyBinds)
        {
            yield return bind.Optional ? "--ro-bind-try" : "--ro-bind";
            yield return bind.Source;
            yield return string.IsNullOrEmpty(bind.Target) ? bind.Source : bind.Target;
        }

        string[] filesystems =
        [
            "--proc", "/proc",
            "--dev", "/dev",
            "--size", tmpfsSize, "--tmpfs", "/dev/shm",
            "--size", tmpfsSize, "--perms", "1777", "--tmpfs", "/tmp",
            "--bind", workspace, SandboxSpec.SandboxWorkspacePath,
            "--chdir", SandboxSpec.SandboxWorkspacePath,
            // The root is bwrap's own tmpfs; read-only so the workspace and /tmp stay the only writable places.
            "--remount-ro", "/",
        ];
        foreach (var argument in filesystems)
        {
            yield return argument;
        }
    }
}
