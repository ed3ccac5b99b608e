using System.Globalization;

namespace IrisIde.Tests.Metrics;

/// <summary>The kind of a metric's data, as OTLP's <c>Metric.data</c> says; the kinds the decoder does not read are <see cref="Other"/>.</summary>
public enum OtlpMetricKind
{
    Other,
    Gauge,
    Sum,
    Histogram,
}

/// <summary>
/// What the tests read of an OTLP <c>ExportMetricsServiceRequest</c> (opentelemetry-proto,
/// <c>collector/metrics/v1</c> and <c>metrics/v1</c>): per resource its attributes, per scope its name, per metric
/// its name, unit, kind and data points. Attribute values (<c>AnyValue</c>) are kept as invariant text.
/// </summary>
public sealed record OtlpMetricsRequest(IReadOnlyList<OtlpResourceMetrics> ResourceMetrics)
{
    /// <summary>Decodes a request body; fields the tests do not need are skipped.</summary>
    public static OtlpMetricsRequest Parse(ReadOnlySpan<byte> body)
    {
        var resources = new List<OtlpResourceMetrics>();
        var reader = new ProtobufReader(body);
        while (reader.TryReadField(out var field))
        {
            if (field == 1)
            {
                resources.Add(ReadResourceMetrics(reader.ReadBytes()));
            }
            else
            {
                reader.Skip();
            }
        }

        return new OtlpMetricsRequest(resources);
    }

    private static OtlpResourceMetrics ReadResourceMetrics(ReadOnlySpan<byte> message)
    {
        IReadOnlyDictionary<string, string> resource = new Dictionary<string, string>();
        var scopes = new List<OtlpScopeMetrics>();
        var reader = new ProtobufReader(message);
        while (reader.TryReadField(out var field))
        {
            switch (field)
            {
                case 1:
                    resource = ReadResource(reader.ReadBytes());
                    break;
                case 2:
                    scopes.Add(ReadScopeMetrics(reader.ReadBytes()));
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        return new OtlpResourceMetrics(resource, scopes);
    }

    private static Dictionary<string, string> ReadResource(ReadOnlySpan<byte> message)
    {
        var attributes = new Dictionary<string, string>();
        var reader = new ProtobufReader(message);
        while (reader.TryReadField(out var field))
        {
            if (field == 1)
            {
                AddKeyValue(attributes, reader.ReadBytes());
            }
            else
            {
                reader.Skip();
            }
        }

        return attributes;
    }

    private static OtlpScopeMetrics ReadScopeMetrics(ReadOnlySpan<byte> message)
    {
        var scope = string.Empty;
        var metrics = new List<OtlpMetric>();
        var reader = new ProtobufReader(message);
        while (reader.TryReadField(out var field))
        {
            switch (field)
            {
                case 1:
                    scope = ReadScopeName(reader.ReadBytes());
                    break;
                case 2:
                    metrics.Add(ReadMetric(reader.ReadBytes()));
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        return new OtlpScopeMetrics(scope, metrics);
    }

    private static string ReadScopeName(ReadOnlySpan<byte> message)
    {
        var name = string.Empty;
        var reader = new ProtobufReader(message);
        while (reader.TryReadField(out var field))
        {
            if (field == 1)
            {
                name = reader.ReadString();
            }
            else
            {
                reader.Skip();
            }
        }

        return name;
    }

    private static OtlpMetric ReadMetric(ReadOnlySpan<byte> message)
    {
        var name = string.Empty;
        var unit = string.Empty;
        var kind = OtlpMetricKind.Other;
        var data = new OtlpMetricData(0, false, []);
        var reader = new ProtobufReader(message);
        while (reader.TryReadField(out var field))
        {
            switch (field)
            {
                case 1:
                    name = reader.ReadString();
                    break;
                case 3:
                    unit = reader.ReadString();
                    break;
                case 5:
                    kind = OtlpMetricKind.Gauge;
                    data = ReadData(reader.ReadBytes(), kind);
                    break;
                case 7:
                    kind = OtlpMetricKind.Sum;
                    data = ReadData(reader.ReadBytes(), kind);
                    break;
                case 9:
                    kind = OtlpMetricKind.Histogram;
                    data = ReadData(reader.ReadBytes(), kind);
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        return new OtlpMetric(name, unit, kind, data.Temporality, data.IsMonotonic, data.Points);
    }

    /// <summary><c>Gauge</c>, <c>Sum</c> or <c>Histogram</c>: data_points(1), aggregation_temporality(2, not in a gauge), is_monotonic(3, a sum's).</summary>
    private static OtlpMetricData ReadData(ReadOnlySpan<byte> message, OtlpMetricKind kind)
    {
        var temporality = 0;
        var isMonotonic = false;
        var points = new List<OtlpDataPoint>();
        var reader = new ProtobufReader(message);
        while (reader.TryReadField(out var field))
        {
            switch (field)
            {
                case 1:
                    points.Add(kind == OtlpMetricKind.Histogram ? ReadHistogramPoint(reader.ReadBytes()) : ReadNumberPoint(reader.ReadBytes()));
                    break;
                case 2 when kind != OtlpMetricKind.Gauge:
                    temporality = checked((int)reader.ReadVarint());
                    break;
                case 3 when kind == OtlpMetricKind.Sum:
                    isMonotonic = reader.ReadBool();
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        return new OtlpMetricData(temporality, isMonotonic, points);
    }

    private static OtlpDataPoint ReadNumberPoint(ReadOnlySpan<byte> message)
    {
        var attributes = new Dictionary<string, string>();
        long? asInt = null;
        double? asDouble = null;
        var reader = new ProtobufReader(message);
        while (reader.TryReadField(out var field))
        {
            switch (field)
            {
                case 4:
                    asDouble = reader.ReadDouble();
                    break;
                case 6:
                    asInt = reader.ReadSFixed64();
                    break;
                case 7:
                    AddKeyValue(attributes, reader.ReadBytes());
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        return new OtlpDataPoint(attributes, asInt, asDouble, Count: null, Sum: null);
    }

    private static OtlpDataPoint ReadHistogramPoint(ReadOnlySpan<byte> message)
    {
        var attributes = new Dictionary<string, string>();
        ulong? count = null;
        double? sum = null;
        var reader = new ProtobufReader(message);
        while (reader.TryReadField(out var field))
        {
            switch (field)
            {
                case 4:
                    count = reader.ReadFixed64();
                    break;
                case 5:
                    sum = reader.ReadDouble();
                    break;
                case 9:
                    AddKeyValue(attributes, reader.ReadBytes());
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        return new OtlpDataPoint(attributes, AsInt: null, AsDouble: null, count, sum);
    }

    /// <summary><c>KeyValue</c>: key(1), value(2).</summary>
    private static void AddKeyValue(Dictionary<string, string> attributes, ReadOnlySpan<byte> message)
    {
        var key = string.Empty;
        var value = string.Empty;
        var reader = new ProtobufReader(message);
        while (reader.TryReadField(out var field))
        {
            switch (field)
            {
                case 1:
                    key = reader.ReadString();
                    break;
                case 2:
                    value = ReadAnyValue(reader.ReadBytes());
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        attributes[key] = value;
    }

    /// <summary><c>AnyValue</c>: string_value(1), bool_value(2), int_value(3), double_value(4); arrays, lists and bytes are not read.</summary>
    private static string ReadAnyValue(ReadOnlySpan<byte> message)
    {
        var value = string.Empty;
        var reader = new ProtobufReader(message);
        while (reader.TryReadField(out var field))
        {
            switch (field)
            {
                case 1:
                    value = reader.ReadString();
                    break;
                case 2:
                    value = reader.ReadBool() ? "true" : "false";
                    break;
                case 3:
                    value = reader.ReadInt64().ToString(CultureInfo.InvariantCulture);
                    break;
                case 4:
                    value = reader.ReadDouble().ToString("R", CultureInfo.InvariantCulture);
                    break;
                default:
                    reader.Skip();
                    value = "(not read)";
                    break;
            }
        }

        return value;
    }

    private sealed record OtlpMetricData(int Temporality, bool IsMonotonic, IReadOnlyList<OtlpDataPoint> Points);
}

/// <summary>A <c>ResourceMetrics</c>: the resource's attributes and its scopes.</summary>
public sealed record OtlpResourceMetrics(IReadOnlyDictionary<string, string> Resource, IReadOnlyList<OtlpScopeMetrics> Scopes);

/// <summary>A <c>ScopeMetrics</c>: the instrumentation scope's (the meter's) name and its metrics.</summary>
public sealed record OtlpScopeMetrics(string Scope, IReadOnlyList<OtlpMetric> Metrics);

/// <summary>A <c>Metric</c>; <paramref name="Temporality"/> is OTLP's <c>AggregationTemporality</c> (0 for a gauge).</summary>
public sealed record OtlpMetric(string Name, string Unit, OtlpMetricKind Kind, int Temporality, bool IsMonotonic, IReadOnlyList<OtlpDataPoint> Points)
{
    public const int Cumulative = 2;
}

/// <summary>A <c>NumberDataPoint</c> (<paramref name="AsInt"/> or <paramref name="AsDouble"/>) or a <c>HistogramDataPoint</c> (<paramref name="Count"/> and <paramref name="Sum"/>).</summary>
public sealed record OtlpDataPoint(IReadOnlyDictionary<string, string> Attributes, long? AsInt, double? AsDouble, ulong? Count, double? Sum)
{
    public override string ToString()
    {
        var labels = string.Join(", ", Attributes.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key}={a.Value}"));
        var value = (AsInt, AsDouble, Count) switch
        {
            ({ } i, _, _) => i.ToString(CultureInfo.InvariantCulture),
            (_, { } d, _) => d.ToString("R", CultureInfo.InvariantCulture),
            (_, _, { } c) => $"count {c.ToString(CultureInfo.InvariantCulture)}, sum {Sum?.ToString("R", CultureInfo.InvariantCulture) ?? "none"}",
            _ => "no value",
        };
        return $"{{{labels}}} {value}";
    }
}
