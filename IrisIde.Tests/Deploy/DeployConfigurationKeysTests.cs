using System.Reflection;
using System.Text.RegularExpressions;
using IrisIde.Execution.Sessions;
using IrisIde.Tests.Support;
using IrisIde.Worker;

namespace IrisIde.Tests.Deploy;

/// <summary>
/// Every configuration key the deploy files set (<c>Iris__…</c> and <c>ConnectionStrings__…</c> in the compose file,
/// the Dockerfiles, the image scripts and the manifests) is one the code reads: a misspelt or renamed key would
/// otherwise be ignored without a word, and a deployment would run on a default (a runner runtime of runc instead
/// of Kata) while its file says otherwise.
/// </summary>
public sealed partial class DeployConfigurationKeysTests
{
    private static readonly Assembly[] AppAssemblies = [typeof(BackendSelection).Assembly, typeof(Program).Assembly, typeof(RunnerHost).Assembly];

    [Fact]
    public void Every_key_the_deploy_files_set_is_read_by_the_code()
    {
        var keys = DeployKeys();
        Assert.Contains("Iris:Sessions:Docker:Network", keys.Keys);
        Assert.Contains("ConnectionStrings:RabbitMq", keys.Keys);

        // The manifests are read as text, so the runner pod inside its ConfigMap counts like any other file.
        Assert.Contains(Path.Combine("deploy", "kubernetes", "runner-pod-template.yaml"), keys["Iris:Limits:WorkspaceRoot"]);
        Assert.Contains(Path.Combine("deploy", "kubernetes", "web.yaml"), keys["Iris:Sessions:Kubernetes:ReplicaId"]);

        var unread = keys
            .Where(k => !IsRead(k.Key))
            .Select(k => $"{k.Key} (set in {string.Join(", ", k.Value)})")
            .ToList();

        Assert.True(unread.Count == 0, "set by the deploy files but read by no code:\n" + string.Join('\n', unread));
    }

    [Theory]
    [InlineData("Iris:Sessions:Docker:Runtime", false)] // the compose file's old spelling: the runtime is Iris:Docker:Runtime
    [InlineData("Iris:Sessions:Docker:Imagee", false)]
    [InlineData("Iris:Docker:Network", false)]
    [InlineData("ConnectionStrings:Redis", false)]
    [InlineData("Iris:Docker:Runtime", true)] // an options property under its section
    [InlineData("iris:sessions:docker:network", true)] // binding ignores case
    [InlineData("Iris:Sessions:Host", true)] // a key constant read directly
    [InlineData("Iris:Runner:AccessToken", true)]
    [InlineData("Iris:DataDirectory", true)] // a literal read directly
    [InlineData("ConnectionStrings:Postgres", true)]
    public void The_check_tells_a_read_key_from_an_unread_one(string key, bool read) => Assert.Equal(read, IsRead(key));

    /// <summary>Each key (colon form) with the deploy files that set it.</summary>
    private static Dictionary<string, SortedSet<string>> DeployKeys()
    {
        var keys = new Dictionary<string, SortedSet<string>>(StringComparer.OrdinalIgnoreCase);
        var deploy = RepositoryFiles.PathOf("deploy");
        foreach (var file in Directory.EnumerateFiles(deploy, "*", SearchOption.AllDirectories))
        {
            foreach (Match match in EnvironmentKey().Matches(File.ReadAllText(file)))
            {
                var key = match.Value.Replace("__", ":", StringComparison.Ordinal);
                if (!keys.TryGetValue(key, out var files))
                {
                    keys[key] = files = new SortedSet<string>(StringComparer.Ordinal);
                }

                files.Add(Path.GetRelativePath(RepositoryFiles.Root, file));
            }
        }

        return keys;
    }

    /// <summary>
    /// Read when: a property of an options class bound at the key's parent section (its <c>SectionName</c>), nested
    /// option classes included; a key constant of the apps; a key literal in their sources (a direct
    /// <c>configuration["…"]</c>); or, for <c>ConnectionStrings:X</c>, a <c>GetConnectionString</c> of X.
    /// </summary>
    private static bool IsRead(string key)
    {
        var (readKeys, literals) = (ReadKeys.Value, SourceText.Value);
        if (readKeys.Contains(key))
        {
            return true;
        }

        if (key.StartsWith("ConnectionStrings:", StringComparison.OrdinalIgnoreCase))
        {
            var name = key["ConnectionStrings:".Length..];
            return Regex.IsMatch(literals, $@"GetConnectionString\(""{Regex.Escape(name)}""\)")
                || ReadKeys.Value.Contains("ConnectionString=" + name);
        }

        return literals.Contains($"\"{key}\"", StringComparison.Ordinal);
    }

    private static readonly Lazy<HashSet<string>> ReadKeys = new(() =>
    {
        var keys = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var type in AppAssemblies.SelectMany(a => a.GetTypes()))
        {
            foreach (var field in type.GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static).Where(f => f.IsLiteral && f.FieldType == typeof(string)))
            {
                var value = (string)field.GetRawConstantValue()!;
                if (field.Name == "SectionName")
                {
                    AddProperties(keys, value, type, depth: 0);
                }
                else if (value.StartsWith("Iris:", StringComparison.Ordinal))
                {
                    keys.Add(value);
                }
                else if (field.Name.EndsWith("ConnectionStringName", StringComparison.Ordinal))
                {
                    keys.Add("ConnectionString=" + value);
                }
            }
        }

        return keys;
    });

    private static void AddProperties(HashSet<string> keys, string prefix, Type type, int depth)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod is { IsPublic: true }))
        {
            var key = $"{prefix}:{property.Name}";
            keys.Add(key);
            var propertyType = property.PropertyType;
            if (depth < 4 && propertyType.IsClass && propertyType != typeof(string) && propertyType.Namespace?.StartsWith("IrisIde", StringComparison.Ordinal) == true)
            {
                AddProperties(keys, key, propertyType, depth + 1);
            }
        }
    }

    private static readonly Lazy<string> SourceText = new(() => string.Join('\n',
        new[] { "IrisIde.Execution", "IrisIde.Web", "IrisIde.Worker" }
            .SelectMany(project => Directory.EnumerateFiles(RepositoryFiles.PathOf(project), "*.cs", SearchOption.AllDirectories))
            .Where(file => !file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(File.ReadAllText)));

    [GeneratedRegex(@"\b(Iris|ConnectionStrings)__[A-Za-z0-9_]*[A-Za-z0-9]")]
    private static partial Regex EnvironmentKey();
}
