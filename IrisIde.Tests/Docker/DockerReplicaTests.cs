using IrisIde.Execution.Sessions.Docker;

namespace IrisIde.Tests.Docker;

/// <summary>How a web app finds the Docker container it runs in (for the <c>iris.replica-container</c> label).</summary>
public sealed class DockerReplicaTests
{
    private const string Id = "3f0c2a9e8b7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170615e4d3";

    [Fact]
    public void The_container_is_the_one_whose_hostname_file_is_mounted()
    {
        var mountInfo = $"""
            1203 1180 0:150 / / rw,relatime master:1 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/A
            1204 1203 0:152 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
            1219 1203 8:1 /var/lib/docker/containers/{Id}/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/sda1 rw
            1220 1203 8:1 /var/lib/docker/containers/{Id}/hostname /etc/hostname rw,relatime - ext4 /dev/sda1 rw
            """;

        Assert.Equal(Id, DockerReplica.ContainerIdFrom(mountInfo));
    }

    [Fact]
    public void A_data_root_of_its_own_or_a_separate_var_mount_still_names_the_container() =>
        Assert.Equal(Id, DockerReplica.ContainerIdFrom($"1220 1203 8:3 /lib/docker/containers/{Id}/hosts /etc/hosts rw - ext4 /dev/sda3 rw\n"));

    [Theory]
    // A host: nothing from a container folder.
    [InlineData("25 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n26 25 0:5 / /dev rw - devtmpfs udev rw\n")]
    // A container folder mounted somewhere else than /etc: not this process's own files.
    [InlineData("30 25 8:1 /var/lib/docker/containers/3f0c2a9e8b7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170615e4d3/hostname /srv/hostname rw - ext4 /dev/sda1 rw\n")]
    // Not a full container id.
    [InlineData("30 25 8:1 /var/lib/docker/containers/3f0c2a9e/hostname /etc/hostname rw - ext4 /dev/sda1 rw\n")]
    [InlineData("")]
    [InlineData(null)]
    public void Elsewhere_there_is_no_container(string? mountInfo) => Assert.Null(DockerReplica.ContainerIdFrom(mountInfo));
}
