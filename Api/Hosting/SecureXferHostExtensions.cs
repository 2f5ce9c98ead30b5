using System.Net;
using System.Security.Authentication;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Connections;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Options;
using SecureXfer.Server.Accounts;
using SecureXfer.Server.Configuration;
using SecureXfer.Server.Hosting;
using SecureXfer.Server.Persistence;
using SecureXfer.Server.Protocol;
using SecureXfer.Server.Security;
using SecureXfer.Server.Storage;
using SecureXfer.Server.Transfers;
using SecureXfer.Shared.Protocol;
using SecureXfer.Shared.Security;

namespace SecureXfer.Api.Hosting;

internal static class SecureXferHostExtensions
{
    /// <summary>The rate-limiting policy on the login endpoint.</summary>
    public const string LoginRateLimit = "login";

    /// <summary>
    /// Reads settings, prepares the data directory, certificate and database, and registers
    /// the engine, authentication and both Kestrel listeners.
    /// </summary>
    public static StartupState AddSecureXfer(this WebApplicationBuilder builder, string[] args)
    {
        builder.Configuration.AddCommandLine(args, SettingsCatalog.Switches.ToDictionary());
        var options = SettingsValidator.Validate(builder.Configuration, args);
        var section = builder.Configuration.GetSection(SecureXferOptions.Section);
        builder.Services.Configure<SecureXferOptions>(section);
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = options.ShutdownTimeout);
        ServerLogging.Configure(builder.Logging, options);

        // The lock comes before anything is created: a restore or another server on this directory stops the start here.
        var data = new DataDirectory(options.DataDir);
        var database = Database.For(options, data);
        var inUse = data.TryLock(shared: !database.IsSqlite)
            ?? throw new ConfigurationException([database.IsSqlite
                ? $"SecureXfer:DataDir: {data.Root} is in use by another server or a restore; with SQLite, one server per data directory."
                : $"SecureXfer:DataDir: {data.Root} is being restored, or a server on SQLite holds it."]);
        data.EnsureCreated(withDatabaseFile: database.IsSqlite);
        var certificate = data.WithSetupLockAsync(() => Task.FromResult(ServerCertificate.LoadOrCreate(options, data, Announcer.Line)), CancellationToken.None).GetAwaiter().GetResult();
        try
        {
            SchemaUpgrade.Run(data, database, Announcer.Line);
        }
        catch (InvalidOperationException ex)
        {
            throw new ConfigurationException([$"{(database.IsSqlite ? "SecureXfer:DataDir" : "SecureXfer:Database")}: {ex.Message}"]);
        }
        catch (Npgsql.NpgsqlException ex)
        {
            throw new ConfigurationException([$"SecureXfer:Database:ConnectionString: cannot use the {database.Describe()}: {ex.Message}"]);
        }

        var state = new StartupState(options, data, certificate, inUse);
        builder.Services.AddSecureXferServer(data, database);
        builder.Services.AddDataProtection().PersistKeysToFileSystem(new DirectoryInfo(data.Keys));
        builder.Services.AddProblemDetails();
        builder.Services.AddRateLimiter(limits =>
        {
            limits.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limits.OnRejected = async (context, cancellationToken) =>
            {
                if (context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter))
                {
                    context.HttpContext.Response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                }

                await Results.Problem(title: "Too many requests", detail: "Too many login attempts from this address; wait and try again.", statusCode: StatusCodes.Status429TooManyRequests)
                    .ExecuteAsync(context.HttpContext);
            };
            limits.AddPolicy(LoginRateLimit, http => RateLimitPartition.GetTokenBucketLimiter(
                http.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = Math.Max(1, options.LoginsPerMinute),
                    TokensPerPeriod = Math.Max(1, options.LoginsPerMinute),
                    ReplenishmentPeriod = TimeSpan.FromMinutes(1),
                    QueueLimit = 0,
                    AutoReplenishment = true,
                }));
        });
        builder.Services.AddAuthorization(Policies.Add);
        builder.Services.AddExceptionHandler<RefusalHandler>();
        builder.Services.AddSecureXferHealthChecks();
        builder.Services.AddSingleton<PrometheusExporter>();
        builder.Services.AddEndpointsApiExplorer();
        builder.Services.AddSwaggerGen(swagger =>
        {
            swagger.SwaggerDoc("v1", new Microsoft.OpenApi.OpenApiInfo
            {
                Title = "SecureXfer control plane",
                Version = "v1",
                Description = "Users, files and transfers. Log in with POST /api/v1/auth/login, then use the token with Authorize.",
            });
            swagger.SchemaFilter<OpenApiExamples>();
            swagger.AddSecurityDefinition("bearer", new Microsoft.OpenApi.OpenApiSecurityScheme
            {
                Type = Microsoft.OpenApi.SecuritySchemeType.Http,
                Scheme = "bearer",
                BearerFormat = "JWT",
                Description = "The accessToken from POST /api/v1/auth/login.",
            });
            swagger.AddSecurityRequirement(document => new Microsoft.OpenApi.OpenApiSecurityRequirement
            {
                [new Microsoft.OpenApi.OpenApiSecuritySchemeReference("bearer", document)] = [],
            });
        });
        builder.Services.AddAuthentication(ApiKeyHandler.Selector)
            .AddPolicyScheme(ApiKeyHandler.Selector, "Access token or API key", selector =>
                selector.ForwardDefaultSelector = http => ApiKeyHandler.CarriesKey(http) ? ApiKeyHandler.SchemeName : JwtBearerDefaults.AuthenticationScheme)
            .AddJwtBearer()
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyHandler>(ApiKeyHandler.SchemeName, null);
        builder.Services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<TokenService>((jwt, tokens) =>
            {
                jwt.MapInboundClaims = false;
                jwt.TokenValidationParameters = tokens.ValidationParameters;
                jwt.Events = new JwtBearerEvents
                {
                    OnTokenValidated = async context =>
                    {
                        var accounts = context.HttpContext.RequestServices.GetRequiredService<AccountService>();
                        var user = context.Principal?.Identity is ClaimsIdentity identity
                            ? await accounts.ResolveAsync(identity, context.HttpContext.RequestAborted)
                            : null;
                        if (user is null)
                        {
                            context.Fail("The account was disabled or its credentials changed.");
                            return;
                        }

                        context.HttpContext.Items[typeof(AuthenticatedUser)] = user;
                        Policies.AddRole((ClaimsIdentity)context.Principal!.Identity!, user);
                    },
                };
            });

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;

            // Control-plane requests are small; the file upload endpoint raises this for itself.
            kestrel.Limits.MaxRequestBodySize = 1024 * 1024;
            kestrel.Limits.MaxConcurrentConnections = options.MaxConnections;
            kestrel.Limits.MaxConcurrentUpgradedConnections = options.MaxConnections;
            var address = SettingsValidator.ParseBind(options.Bind);
            kestrel.Listen(address, options.HttpsPort, listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.UseHttps(new HttpsConnectionAdapterOptions
                {
                    ServerCertificate = certificate,
                    SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                });
                state.Https = listen;
            });
            kestrel.Listen(address, options.SxpPort, listen =>
            {
                listen.UseHttps(new HttpsConnectionAdapterOptions
                {
                    ServerCertificate = certificate,
                    SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                    HandshakeTimeout = TimeSpan.FromSeconds(10),
                    OnAuthenticate = (_, ssl) => ssl.ApplicationProtocols = [new System.Net.Security.SslApplicationProtocol(SxpLimits.Alpn)],
                });
                listen.UseConnectionHandler<SxpConnectionHandler>();
                state.Sxp = listen;
            });
        });

        builder.Services.AddSingleton(state);
        builder.Services.AddSingleton<Microsoft.AspNetCore.Connections.IMemoryPoolFactory<byte>, TransferMemoryPoolFactory>();
        return state;
    }

    public static void UseSecureXfer(this WebApplication app)
    {
        app.UseRequestLog();
        app.UseSecurityHeaders();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseRateLimiter();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseSwagger();
        app.UseSwaggerUI(ui =>
        {
            ui.SwaggerEndpoint("/swagger/v1/swagger.json", "SecureXfer v1");
            ui.DocumentTitle = "SecureXfer API";
        });
    }

    /// <summary>Creates the first admin if needed, tidies staging, starts, and prints the bound ports in one parseable line.</summary>
    public static async Task RunSecureXferAsync(this WebApplication app, StartupState state)
    {
        // The exporter listens from the start, so /metrics counts everything since.
        app.Services.GetRequiredService<PrometheusExporter>();
        var accounts = app.Services.GetRequiredService<AccountService>();
        var reconciler = app.Services.GetRequiredService<StorageReconciler>();

        // Instances starting together on one data directory do this one after the other.
        await state.Data.WithSetupLockAsync(async () =>
        {
            app.Services.GetRequiredService<TokenService>();
            await accounts.EnsureInitialAdminAsync(state.Data, Environment.GetEnvironmentVariable(AccountService.AdminPasswordVariable), Announcer.Line, CancellationToken.None);
            return await reconciler.RunAsync(CancellationToken.None);
        }, CancellationToken.None);
        app.Lifetime.ApplicationStopped.Register(reconciler.MarkStopped);

        await StartListeningAsync(app, state.Options);
        var https = (IPEndPoint)state.Https!.EndPoint;
        var sxp = (IPEndPoint)state.Sxp!.EndPoint;
        Announcer.Line($"Data directory: {state.Data.Root}");
        Announcer.Line($"Certificate fingerprint: {CertificateFingerprint.Of(state.Certificate)}");
        Announcer.Line($"REST: https://{Format(https)}/api/v1  (certificate: {state.Options.Tls.CertificatePath ?? ServerCertificate.CertificatePath(state.Data)})");
        Announcer.Line($"listening https={Format(https)} sxp={Format(sxp)}");
        await app.WaitForShutdownAsync();
    }

    /// <summary>Starts both listeners; a port that cannot be bound is a configuration problem, said as one.</summary>
    private static async Task StartListeningAsync(WebApplication app, SecureXferOptions options)
    {
        try
        {
            await app.StartAsync();
        }
        catch (IOException ex) when (FindSocketError(ex) is { } socket)
        {
            var problem = socket.SocketErrorCode switch
            {
                System.Net.Sockets.SocketError.AddressAlreadyInUse => "is already in use",
                System.Net.Sockets.SocketError.AddressNotAvailable => "is not an address of this machine",
                System.Net.Sockets.SocketError.AccessDenied => "needs privileges this process lacks",
                _ => $"cannot be bound ({socket.SocketErrorCode})",
            };
            throw new ConfigurationException(
                [$"SecureXfer:Bind {options.Bind} with SecureXfer:HttpsPort {options.HttpsPort} / SecureXfer:SxpPort {options.SxpPort}: {problem}."]);
        }
    }

    private static System.Net.Sockets.SocketException? FindSocketError(Exception? error)
    {
        for (; error is not null; error = error.InnerException)
        {
            if (error is System.Net.Sockets.SocketException socket)
            {
                return socket;
            }
        }

        return null;
    }

    private static string Format(IPEndPoint endpoint) =>
        endpoint.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{endpoint.Address}]:{endpoint.Port}" : $"{endpoint.Address}:{endpoint.Port}";

}
