using Microsoft.Extensions.Logging;

namespace IrisIde.Execution.Sandboxing.Cgroups;

internal static class CgroupHierarchyFactory
{
    /// <summary>Detects the host's cgroup version below <paramref name="cgroupRoot"/> and returns where runs go.</summary>
    public static ICgroupHierarchy Create(string cgroupRoot, string parentName, ILogger logger) =>
        Create(CgroupLayout.DetectCurrent(cgroupRoot), parentName, CgroupFileSystem.Instance, logger);

    public static ICgroupHierarchy Create(CgroupLayout layout, string parentName, ICgroupFileSystem fileSystem, ILogger logger)
    {
        if (layout.Version == CgroupVersion.V2)
        {
            return new CgroupV2Hierarchy(layout.UnifiedDirectory!, parentName, fileSystem, logger);
        }

        var hierarchy = new CgroupV1Hierarchy(layout.ControllerDirectories, parentName, fileSystem, logger);
        CgroupLog.HierarchyReady(logger, CgroupVersion.V1, hierarchy.ParentPath);
        return hierarchy;
    }
}
