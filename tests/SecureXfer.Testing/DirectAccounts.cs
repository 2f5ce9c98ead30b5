using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SecureXfer.Server.Accounts;
using SecureXfer.Server.Configuration;
using SecureXfer.Server.Hosting;
using SecureXfer.Server.Persistence;
using SecureXfer.Server.Storage;

namespace SecureXfer.Tests.Support;

/// <summary>The product's account code wired to a server's data directory, for setting up users a test needs.</summary>
public sealed class DirectAccounts : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    public DirectAccounts(string dataDir, Database database)
    {
        var collection = new ServiceCollection();
        collection.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        collection.Configure<SecureXferOptions>(o => o.DataDir = dataDir);
        collection.AddSecureXferServer(new DataDirectory(dataDir), database);
        _services = collection.BuildServiceProvider();
        Service = _services.GetRequiredService<AccountService>();
    }

    public AccountService Service { get; }

    public ValueTask DisposeAsync() => _services.DisposeAsync();
}
