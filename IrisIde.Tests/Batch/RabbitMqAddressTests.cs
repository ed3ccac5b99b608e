using IrisIde.Execution.Batch;

namespace IrisIde.Tests.Batch;

public sealed class RabbitMqAddressTests
{
    [Fact]
    public void Parses_user_password_host_port_and_virtual_host()
    {
        var address = RabbitMqAddress.Parse("amqp://iris:s%40cret@broker.internal:5673/iris-prod");

        Assert.Equal(new RabbitMqAddress("broker.internal", 5673, "iris-prod", "iris", "s@cret", UseTls: false), address);
    }

    [Theory]
    [InlineData("amqp://broker", 5672, "/", false)]
    [InlineData("amqp://broker/", 5672, "/", false)]
    [InlineData("amqp://broker/%2F", 5672, "/", false)]
    [InlineData("amqps://broker/a%2Fb", 5671, "a/b", true)]
    public void Defaults_port_virtual_host_and_guest(string connectionString, int port, string virtualHost, bool tls)
    {
        var address = RabbitMqAddress.Parse(connectionString);

        Assert.Equal((port, virtualHost, tls, "guest", "guest"), (address.Port, address.VirtualHost, address.UseTls, address.UserName, address.Password));
    }

    [Theory]
    [InlineData("broker:5672")]
    [InlineData("rabbitmq://broker/")]
    [InlineData("amqp://broker/a/b")]
    public void Refuses_what_is_not_an_amqp_uri(string connectionString)
    {
        Assert.Throws<FormatException>(() => RabbitMqAddress.Parse(connectionString));
    }

    [Fact]
    public void Its_text_never_shows_the_password()
    {
        var text = RabbitMqAddress.Parse("amqp://iris:hunter2@broker/v").ToString();

        Assert.DoesNotContain("hunter2", text, StringComparison.Ordinal);
        Assert.Equal("amqp://iris@broker:5672/v", text);
    }
}
