// Sandboxed runs share two cores, a cgroup tree and the sandbox uid; tests assert that no process of a
// run is left on the host, which only means something when no other run is going on at the same time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

// The sandbox, cgroups and the toolchains are Linux's; so are these tests.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
