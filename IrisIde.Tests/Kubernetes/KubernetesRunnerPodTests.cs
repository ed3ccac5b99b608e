using IrisIde.Execution.Sessions.Kubernetes;
using IrisIde.Tests.Support;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace IrisIde.Tests.Kubernetes;

/// <summary>
/// The runner pod the Kubernetes session host makes from the deploy files' template, without an API server: the
/// template's isolation kept as it is, and only the name, the labels the reaper reads, the owner and the pod's own
/// access token added; a template that cannot serve is refused with a message naming it.
/// </summary>
public sealed class KubernetesRunnerPodTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("iris-k8s-template-").FullName;

    /// <summary>The deploy files' runner pod, as the web pod sees it: the ConfigMap's <c>runner-pod.yaml</c> mounted as a file.</summary>
    internal static string DeployTemplate()
    {
        var configMap = KubernetesYaml.Deserialize<V1ConfigMap>(File.ReadAllText(RepositoryFiles.PathOf("deploy", "kubernetes", "runner-pod-template.yaml")));
        return configMap.Data["runner-pod.yaml"];
    }

    [Fact]
    public void A_runner_pod_is_the_template_with_its_name_labels_owner_and_a_token_of_its_own()
    {
        var factory = Factory(DeployTemplate());
        var expires = DateTimeOffset.UtcNow.AddHours(1);

        var (pod, port) = factory.PodFor("0123456789abcdef", "user:42", expires, "token-one");
        var (other, _) = factory.PodFor("fedcba9876543210", null, expires, "token-two");

        Assert.Equal("iris-runner-0123456789abcdef", pod.Metadata.Name);
        Assert.Null(pod.Metadata.GenerateName);
        Assert.Equal("iris-test", pod.Metadata.NamespaceProperty);
        Assert.Equal("runner", pod.Metadata.Labels["app.kubernetes.io/component"]);
        Assert.Equal("0123456789abcdef", pod.Metadata.Labels["iris.dev/runner"]);
        Assert.Equal("web-7f9c-abcde", pod.Metadata.Labels["iris.dev/replica"]);
        Assert.Equal(expires.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), pod.Metadata.Labels["iris.dev/expires"]);
        // An owner key is no valid label value: it is an annotation, as given.
        Assert.Equal("user:42", pod.Metadata.Annotations["iris.dev/owner"]);
        Assert.Equal(string.Empty, other.Metadata.Annotations["iris.dev/owner"]);
        Assert.Equal(8080, port);

        var container = Assert.Single(pod.Spec.Containers);
        Assert.Equal("token-one", Assert.Single(container.Env, e => e.Name == "Iris__Runner__AccessToken").Value);
        Assert.Equal("token-two", Assert.Single(other.Spec.Containers[0].Env, e => e.Name == "Iris__Runner__AccessToken").Value);

        // The template's isolation is untouched.
        Assert.Equal("kata", pod.Spec.RuntimeClassName);
        Assert.False(pod.Spec.AutomountServiceAccountToken);
        Assert.False(container.SecurityContext.AllowPrivilegeEscalation);
        Assert.True(container.SecurityContext.ReadOnlyRootFilesystem);
        Assert.Equal(["ALL"], container.SecurityContext.Capabilities.Drop);
        Assert.Equal("500m", container.Resources.Limits["cpu"].ToString());
        Assert.Equal("512Mi", container.Resources.Limits["memory"].ToString());
    }

    [Fact]
    public void A_token_in_the_template_is_replaced_not_kept_beside_the_pods_own()
    {
        var withToken = KubernetesYaml.Deserialize<V1Pod>(DeployTemplate());
        withToken.Spec.Containers[0].Env ??= [];
        withToken.Spec.Containers[0].Env.Add(new V1EnvVar { Name = "Iris__Runner__AccessToken", Value = "shared-by-every-pod" });
        var template = KubernetesYaml.Serialize(withToken);
        Assert.Contains("shared-by-every-pod", template, StringComparison.Ordinal);

        var (pod, _) = Factory(template).PodFor("0123456789abcdef", null, DateTimeOffset.UtcNow, "own");

        Assert.Equal("own", Assert.Single(pod.Spec.Containers[0].Env, e => e.Name == "Iris__Runner__AccessToken").Value);
    }

    [Fact]
    public void The_configured_image_and_runtime_class_override_the_templates()
    {
        var factory = Factory(DeployTemplate(), new KubernetesRunnerOptions { Image = "registry.example/iris-runner:7", RuntimeClassName = "gvisor" });

        var (pod, _) = factory.PodFor("0123456789abcdef", null, DateTimeOffset.UtcNow, "t");

        Assert.Equal("registry.example/iris-runner:7", pod.Spec.Containers[0].Image);
        Assert.Equal("gvisor", pod.Spec.RuntimeClassName);
    }

    [Fact]
    public void Making_one_pod_does_not_change_the_next()
    {
        var factory = Factory(DeployTemplate());
        var (first, _) = factory.PodFor("0000000000000001", "user:1", DateTimeOffset.UtcNow, "a");
        first.Spec.Containers[0].Image = "changed";
        first.Metadata.Labels["extra"] = "x";

        var (second, _) = factory.PodFor("0000000000000002", "user:2", DateTimeOffset.UtcNow, "b");

        Assert.Equal("iris-runner:latest", second.Spec.Containers[0].Image);
        Assert.False(second.Metadata.Labels.ContainsKey("extra"));
    }

    [Theory]
    [InlineData(null, "cannot be read")]
    [InlineData("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n", "must be a Pod with a container")]
    [InlineData("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers: []\n", "must be a Pod with a container")]
    [InlineData("kind: Pod\nspec: [unclosed\n", "not valid YAML")]
    public void A_template_that_cannot_serve_is_refused_with_its_path_named(string? template, string expected)
    {
        var factory = Factory(template);

        var error = Assert.Throws<KubernetesUnavailableException>(() => factory.PodFor("0123456789abcdef", null, DateTimeOffset.UtcNow, "t"));

        Assert.Equal(KubernetesFailure.TemplateInvalid, error.Kind);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(_folder, "pod.yaml"), error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("web-7f9c-abcde")]
    [InlineData("host.1234.5678")]
    [InlineData("A_b.c-9")]
    public void A_valid_label_value_stays_as_it_is(string value) => Assert.Equal(value, KubernetesNames.LabelValue(value));

    [Theory]
    [InlineData("user:42")]
    [InlineData("-leading")]
    [InlineData("trailing.")]
    [InlineData("üñí")]
    [InlineData("a-replica-name-that-is-much-longer-than-the-sixty-three-characters-a-label-value-may-have")]
    public void Any_other_value_becomes_a_valid_label_value_that_stays_distinct(string value)
    {
        var label = KubernetesNames.LabelValue(value);

        Assert.InRange(label.Length, 1, 63);
        Assert.Matches("^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$", label);
        Assert.NotEqual(label, KubernetesNames.LabelValue(value + "x"));
    }

    [Theory]
    [InlineData("Iris_Namespace", null, 2, 8, "Namespace")]
    [InlineData(null, "not a class!", 2, 8, "RuntimeClassName")]
    [InlineData(null, null, 3, 2, "PoolSize")]
    public void Options_that_cannot_work_stop_start_up_with_the_key_named(string? ns, string? runtimeClass, int poolSize, int maxPoolSize, string key)
    {
        var result = new KubernetesRunnerOptionsValidator().Validate(null, new KubernetesRunnerOptions
        {
            Namespace = ns,
            RuntimeClassName = runtimeClass,
            PoolSize = poolSize,
            MaxPoolSize = maxPoolSize,
        });

        Assert.True(result.Failed);
        Assert.Contains("Iris:Sessions:Kubernetes:" + key, result.FailureMessage, StringComparison.Ordinal);
        Assert.True(new KubernetesRunnerOptionsValidator().Validate(null, new KubernetesRunnerOptions { Namespace = "iris" }).Succeeded);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private KubernetesRunnerFactory Factory(string? template, KubernetesRunnerOptions? options = null)
    {
        var path = Path.Combine(_folder, "pod.yaml");
        if (template is not null)
        {
            File.WriteAllText(path, template);
        }

        options ??= new KubernetesRunnerOptions();
        options.Namespace = "iris-test";
        options.PodTemplatePath = path;
        options.ReplicaId = "web-7f9c-abcde";
        var kubeconfig = Path.Combine(_folder, "kubeconfig");
        // Never contacted: making a pod's description needs only the namespace.
        File.WriteAllText(kubeconfig, "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:9\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  user:\n    token: never-sent\n");
        var api = new KubernetesApi(Options.Create(new KubernetesApiOptions { Kubeconfig = kubeconfig }), Options.Create(options));
        return new KubernetesRunnerFactory(api, Options.Create(options), new KubernetesReplica(Options.Create(options)), NullLogger<KubernetesRunnerFactory>.Instance);
    }
}
