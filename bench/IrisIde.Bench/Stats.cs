using System.Globalization;

namespace IrisIde.Bench;

/// <summary>Median and p95 of a sample, in milliseconds.</summary>
internal sealed record Stats(double Median, double P95, int Count)
{
    public static Stats Of(IReadOnlyCollection<double> samples)
    {
        var sorted = samples.Order().ToArray();
        return new Stats(Percentile(sorted, 0.50), Percentile(sorted, 0.95), sorted.Length);
    }

    private static double Percentile(double[] sorted, double p)
    {
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var rank = p * (sorted.Length - 1);
        var low = (int)Math.Floor(rank);
        var high = (int)Math.Ceiling(rank);
        return sorted[low] + ((sorted[high] - sorted[low]) * (rank - low));
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"median {Median,8:0.0} ms   p95 {P95,8:0.0} ms   (n={Count})");
}
