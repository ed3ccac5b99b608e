using IrisIde.Web.Courses;

namespace IrisIde.Tests.Courses;

public sealed class CoursesOptionsTests
{
    [Fact]
    public void A_join_limit_that_locks_out_at_once_or_never_ends_stops_start_up()
    {
        var validator = new CoursesOptionsValidator();

        Assert.True(validator.Validate(null, new CoursesOptions()).Succeeded);
        Assert.True(validator.Validate(null, new CoursesOptions { MaxFailedJoinsPerUser = 1, JoinLockoutMinutes = 1440 }).Succeeded);
        var zero = validator.Validate(null, new CoursesOptions { MaxFailedJoinsPerUser = 0 });
        Assert.True(zero.Failed);
        Assert.Contains("Iris:Courses:MaxFailedJoinsPerUser must be between 1 and 1000 (is 0)", zero.FailureMessage, StringComparison.Ordinal);
        Assert.True(validator.Validate(null, new CoursesOptions { JoinLockoutMinutes = 0 }).Failed);
        Assert.True(validator.Validate(null, new CoursesOptions { JoinLockoutMinutes = 1441 }).Failed);
    }

    [Fact]
    public async Task The_app_refuses_to_start_with_an_invalid_join_limit()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => IrisIde.Tests.Web.IrisWebApp.StartAsync(new Dictionary<string, string?>
        {
            ["Iris:Courses:MaxFailedJoinsPerUser"] = "0",
            ["Iris:Sandbox:Uid"] = "64900",
            ["Iris:Sandbox:UidCount"] = "16",
        }).WaitAsync(TimeSpan.FromSeconds(120)));

        Assert.Contains("Iris:Courses:MaxFailedJoinsPerUser", error.ToString(), StringComparison.Ordinal);
    }
}
