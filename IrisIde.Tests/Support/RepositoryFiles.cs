namespace IrisIde.Tests.Support;

/// <summary>Files of the checkout the tests were built from (deploy files, sources), found from the test's build output.</summary>
public static class RepositoryFiles
{
    public static string Root { get; } = FindRoot();

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "IrisIde.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException("IrisIde.sln not found above " + AppContext.BaseDirectory);
    }
}
