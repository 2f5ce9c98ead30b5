using SecureXfer.Api.Endpoints;
using SecureXfer.Api.Hosting;

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

/// <summary>The host, public so tests and tools can refer to it.</summary>
public partial class Program;
