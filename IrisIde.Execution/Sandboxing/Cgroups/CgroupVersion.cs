namespace IrisIde.Execution.Sandboxing.Cgroups;

internal enum CgroupVersion
{
    V1 = 1,
    V2 = 2,
}
