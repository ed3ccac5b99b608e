using IrisIde.Execution.Sandboxing.Capacity;
using Microsoft.Extensions.Logging;

namespace IrisIde.Execution.Sandboxing.Cgroups;

internal static class CgroupHierarchyFactory
{
    /// <summary>Detects the host's cgroup version below <paramref name="cgroupRoot"/> and returns where runs go.</summary>
    public static Task<ICgroupHierarchy> CreateAsync(
        string cgroupRoot, string parentName, RunCapacity capacity, ILogger logger, CancellationToken cancellationToken) =>
        CreateAsync(CgroupLayout.DetectCurrent(cgroupRoot), parentName, capacity, CgroupFileSystem.Instance, logger, cancellationToken);

    /// <remarks>
    /// Runs a previous server left (it crashed, or died in the middle of a teardown) are ended first, so
    /// that the parent's limits, written next, are not refused for memory that nobody uses any more.
    /// </remarks>
    public static async Task<ICgroupHierarchy> CreateAsync(
        CgroupLayout layout, string parentName, RunCapacity capacity, ICgroupFileSystem fileSystem, ILogger logger, CancellationToken cancellationToken)
    {
        ICgroupHierarchy hierarchy;
        if (layout.Version == CgroupVersion.V2)
        {
            hierarchy = new CgroupV2Hierarchy(layout.UnifiedDirectory!, parentName, capacity, fileSystem, logger);
        }
        else
        {
            hierarchy = new CgroupV1Hierarchy(layout.ControllerDirectories, parentName, capacity, fileSystem, logger);
            CgroupLog.HierarchyReady(logger, CgroupVersion.V1, hierarchy.ParentPath);
        }

        await hierarchy.ReleaseLeftoverRunsAsync(cancellationToken);
        hierarchy.PrepareParent();
        return hierarchy;
    }
}
