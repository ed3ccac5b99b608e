using IrisIde.Execution.Sandboxing.Bubblewrap;

namespace IrisIde.Tests.Sandboxing.Bubblewrap;

public sealed class BubblewrapOptionsValidatorTests
{
    [Theory]
    [InlineData("/opt/tool", null, true)]
    [InlineData("/opt/tool", "/srv/tool", true)]
    [InlineData("/opt/tool", "/srv/../../etc/cron.d", false)]
    [InlineData("/opt/tool", "/srv/./tool", false)]
    [InlineData("/opt/tool", "srv/tool", false)]
    [InlineData("/opt/tool", "/proc", false)]
    public void An_extra_binds_target_is_a_plain_absolute_path_the_sandbox_does_not_manage(string source, string? target, bool valid)
    {
        var options = WithNativePrograms();
        options.ExtraReadOnlyBinds.Add(new ReadOnlyBind { Source = source, Target = target, Optional = true });

        var result = new BubblewrapOptionsValidator().Validate(null, options);

        Assert.True(valid == result.Succeeded, string.Join("; ", result.Failures ?? []));
    }

    [Theory]
    [InlineData(nameof(BubblewrapOptions.BwrapPath))]
    [InlineData(nameof(BubblewrapOptions.LauncherPath))]
    [InlineData(nameof(BubblewrapOptions.SeccompCompilerPath))]
    public void A_missing_native_program_is_named_at_start(string key)
    {
        var options = WithNativePrograms();
        var missing = "/nonexistent/" + key;
        typeof(BubblewrapOptions).GetProperty(key)!.SetValue(options, missing);

        var result = new BubblewrapOptionsValidator().Validate(null, options);

        Assert.False(result.Succeeded);
        Assert.Contains(result.Failures!, failure => failure.StartsWith(key + " ", StringComparison.Ordinal) && failure.Contains(missing, StringComparison.Ordinal));
    }

    /// <summary>Options whose native programs all exist (any executable will do for the validator).</summary>
    private static BubblewrapOptions WithNativePrograms() => new() { BwrapPath = "/bin/sh", LauncherPath = "/bin/sh", SeccompCompilerPath = "/bin/sh" };
}
