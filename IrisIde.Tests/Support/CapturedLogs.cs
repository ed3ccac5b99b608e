using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IrisIde.Tests.Support;

/// <summary>
/// Every log entry an app writes, as text: the formatted message, every structured value and every scope
/// value, so a test can say a secret appears in none of them however a sink would render it.
/// </summary>
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _entries = new();

    private readonly AsyncLocal<Stack<object?>?> _scopes = new();

    public IReadOnlyCollection<string> Entries => _entries;

    public void AddTo(IServiceCollection services) => services.AddSingleton<ILoggerProvider>(this);

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturedLogs logs, string category) : ILogger
    {
        public IDisposable BeginScope<TState>(TState state) where TState : notnull
        {
            var stack = logs._scopes.Value ??= new Stack<object?>();
            stack.Push(state);
            return new Pop(stack);
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var parts = new List<string> { $"{logLevel} {category}[{eventId.Id}] {formatter(state, exception)}", exception?.ToString() ?? string.Empty };
            parts.AddRange(Values(state));
            foreach (var scope in logs._scopes.Value ?? [])
            {
                parts.AddRange(Values(scope));
            }

            logs._entries.Enqueue(string.Join(" | ", parts));
        }

        private static IEnumerable<string> Values(object? state) => state is IEnumerable<KeyValuePair<string, object?>> pairs
            ? pairs.Select(p => $"{p.Key}={p.Value}")
            : [state?.ToString() ?? string.Empty];
    }

    private sealed class Pop(Stack<object?> stack) : IDisposable
    {
        public void Dispose() => stack.TryPop(out _);
    }
}
