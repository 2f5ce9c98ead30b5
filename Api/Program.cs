using SecureXfer.Api.Endpoints;
using SecureXfer.Api.Hosting;
using SecureXfer.Server.Configuration;

if (await ServerCommands.TryRunAsync(args) is { } toolExit)
{
    return toolExit;
}

try
{
    // Stray words and short switches would trip the host's own command-line parsing: refuse them first.
    if (SettingsValidator.StrayWords(args).Any())
    {
        throw new ConfigurationException([.. SettingsValidator.CheckArguments(args)]);
    }

    // Settings files live beside the binary; the working directory is only where ./data goes.
    var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
    var startup = builder.AddSecureXfer(args);

    var app = builder.Build();
    app.UseSecureXfer();
    app.MapAuthEndpoints();
    app.MapServerEndpoints();
    app.MapUserEndpoints();
    app.MapFileEndpoints();
    app.MapAuditEndpoints();
    app.MapUploadEndpoints();
    app.MapRemoteEndpoints();
    app.MapJobEndpoints();

    await app.RunSecureXferAsync(startup);
    return ServerCommands.Ok;
}
catch (ConfigurationException ex)
{
    Console.Error.WriteLine("SecureXfer cannot start. " + ex.Message);
    Console.Error.WriteLine("See --help for every setting.");
    return ServerCommands.Usage;
}

/// <summary>The host, public so tests and tools can refer to it.</summary>
public partial class Program;
