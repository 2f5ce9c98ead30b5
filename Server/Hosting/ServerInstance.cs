namespace SecureXfer.Server.Hosting;

/// <summary>
/// This server process among the instances that may share a database and a data directory:
/// machine, process and a random part (containers on one host can share a name and a pid).
/// Job leases and running markers name it.
/// </summary>
public sealed class ServerInstance
{
    public string Id { get; } = Environment.MachineName + ":" + Environment.ProcessId + ":" + Guid.NewGuid().ToString("N")[..8];
}
