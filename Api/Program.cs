using SecureXfer.Api.Endpoints;
using SecureXfer.Api.Hosting;

var builder = WebApplication.CreateBuilder(args);
var startup = builder.AddSecureXfer(args);

var app = builder.Build();
app.UseSecureXfer();
app.MapAuthEndpoints();
app.MapServerEndpoints();

await app.RunSecureXferAsync(startup);

/// <summary>The host, public so tests and tools can refer to it.</summary>
public partial class Program;
