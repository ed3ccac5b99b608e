using IrisIde.Execution.Admission;
using IrisIde.Execution.Sandboxing.Capacity;
using IrisIde.Execution.Sessions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace IrisIde.Tests.Admission;

public sealed class RunAdmissionTests
{
    private const long GiB = 1024L * 1024 * 1024;

    private static readonly SessionOwner Ann = new("ip:192.0.2.1", null, null, SessionSurface.WebSocket);
    private static readonly SessionOwner Bob = new("ip:192.0.2.2", null, null, SessionSurface.Hub);

    [Fact]
    public void Capacity_is_the_smaller_of_what_memory_and_cores_hold_by_expected_footprint()
    {
        var options = new AdmissionOptions { SessionFootprintBytes = 128L * 1024 * 1024, SessionCpuShare = 0.05 };

        Assert.Equal(40, options.ResolveMaxSessions(new RunCapacity(20 * GiB, 10_000), cores: 2)); // cores: 2 / 0.05
        Assert.Equal(8, options.ResolveMaxSessions(new RunCapacity(1 * GiB, 10_000), cores: 64)); // memory: 1 GiB / 128 MiB
        Assert.Equal(3, new AdmissionOptions { MaxSessions = 3 }.ResolveMaxSessions(new RunCapacity(20 * GiB, 10_000), 2));
    }

    [Fact]
    public void Past_capacity_every_client_is_refused_as_server_full_until_a_slot_is_given_back()
    {
        using var admission = Create(new AdmissionOptions { MaxSessions = 2 });
        var first = admission.AdmitSession(Ann);
        using var second = admission.AdmitSession(Bob);

        var refused = Assert.Throws<SessionRefusedException>(() => admission.AdmitSession(Bob));
        Assert.Equal(AdmissionRefusal.AtCapacity, refused.Refusal);
        Assert.True(refused.IsServerFull);
        Assert.Equal(RunAdmission.AtCapacityMessage, refused.Message);

        first.Dispose();
        first.Dispose(); // a lease gives its slot back once, however often it is disposed
        using var third = admission.AdmitSession(Bob);
        Assert.Equal(2, admission.ActiveSessions);
        Assert.Throws<SessionRefusedException>(() => admission.AdmitSession(Ann));
    }

    [Fact]
    public void One_client_past_its_own_cap_does_not_take_other_clients_slots()
    {
        using var admission = Create(new AdmissionOptions { MaxSessions = 10, MaxSessionsPerClient = 2 });
        using var a1 = admission.AdmitSession(Ann);
        using var a2 = admission.AdmitSession(Ann with { Surface = SessionSurface.Hub });

        var refused = Assert.Throws<SessionRefusedException>(() => admission.AdmitSession(Ann));
        Assert.Equal(AdmissionRefusal.TooManySessions, refused.Refusal);
        Assert.False(refused.IsServerFull);
        Assert.Equal("too many sessions: at most 2 may be open at once per client; close one first", refused.Message);
        using var b = admission.AdmitSession(Bob);
        Assert.Equal(3, admission.ActiveSessions);
    }

    [Fact]
    public void Starts_per_minute_are_counted_per_client_over_sessions_and_batch_jobs()
    {
        using var admission = Create(new AdmissionOptions { RunsPerMinutePerClient = 3 });
        admission.AdmitSession(Ann).Dispose();
        admission.AdmitStart(Ann);
        admission.AdmitStart(Ann);

        var refused = Assert.Throws<SessionRefusedException>(() => admission.AdmitStart(Ann));
        Assert.Equal(AdmissionRefusal.RateLimited, refused.Refusal);
        Assert.Equal(TimeSpan.FromSeconds(60), refused.RetryAfter);
        Assert.Throws<SessionRefusedException>(() => admission.AdmitSession(Ann));
        Assert.Equal(0, admission.ActiveSessions);
        admission.AdmitStart(Bob);
    }

    [Fact]
    public void A_refused_session_does_not_use_up_a_start()
    {
        using var admission = Create(new AdmissionOptions { MaxSessions = 1, RunsPerMinutePerClient = 2 });
        using (admission.AdmitSession(Bob))
        {
            for (var i = 0; i < 5; i++)
            {
                Assert.Throws<SessionRefusedException>(() => admission.AdmitSession(Ann));
            }
        }

        admission.AdmitSession(Ann).Dispose();
        admission.AdmitSession(Ann).Dispose();
    }

    [Theory]
    [InlineData("192.0.2.1", "ip:192.0.2.1")]
    [InlineData("::ffff:192.0.2.1", "ip:192.0.2.1")]
    [InlineData("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "ip:2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:2::9", "ip:2001:db8:1:2::/64")]
    [InlineData("::1", "ip:::1")]
    public void A_client_is_its_address_and_an_ipv6_client_its_whole_64(string address, string key)
    {
        Assert.Equal(key, ClientKeys.ForAddress(System.Net.IPAddress.Parse(address)));
    }

    [Theory]
    [InlineData("SessionFootprintBytes", "1024")]
    [InlineData("SessionCpuShare", "0")]
    [InlineData("MaxSessions", "0")]
    [InlineData("MaxSessionsPerClient", "0")]
    [InlineData("RunsPerMinutePerClient", "-1")]
    public void Settings_that_cannot_work_fail_validation_naming_the_setting(string setting, string value)
    {
        var options = new AdmissionOptions();
        var property = typeof(AdmissionOptions).GetProperty(setting)!;
        var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
        property.SetValue(options, Convert.ChangeType(value, type, System.Globalization.CultureInfo.InvariantCulture));

        var result = new AdmissionOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains($"Iris:Admission:{setting}", result.FailureMessage, StringComparison.Ordinal);
    }

    private static RunAdmission Create(AdmissionOptions options) =>
        new(Options.Create(options), new RunCapacity(16 * GiB, 10_000), NullLogger<RunAdmission>.Instance);
}
