using IrisIde.Web.Accounts;

namespace IrisIde.Tests.Accounts;

public sealed class LocalUrlTests
{
    [Theory]
    [InlineData("/")]
    [InlineData("/admin/users")]
    [InlineData("/account/password?returnUrl=%2F")]
    public void A_path_on_this_site_is_local(string url) => Assert.True(LocalUrl.IsLocal(url));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("https://evil.example/")]
    [InlineData("//evil.example")]
    [InlineData("/\\evil.example")]
    [InlineData("javascript:alert(1)")]
    [InlineData("evil.example/")]
    [InlineData("/\t/evil.example")]
    [InlineData("/\r\nLocation: https://evil.example")]
    public void Anything_else_is_not(string? url)
    {
        Assert.False(LocalUrl.IsLocal(url));
        Assert.Equal("/", LocalUrl.OrRoot(url));
    }
}
