using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using SecureXfer.Server.Diagnostics;
using SecureXfer.Server.Remotes;

namespace SecureXfer.Server.Configuration;

/// <summary>A configuration the server refuses to start with, and every reason why.</summary>
public sealed class ConfigurationException(IReadOnlyList<string> problems)
    : Exception("The configuration is not valid:\n" + string.Join('\n', problems.Select(p => "  - " + p)))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}

/// <summary>
/// Checks the whole configuration before anything is created, and reports every bad value at
/// once with the setting's name, so a typo never starts a half-working server: unknown
/// settings and switches, values of the wrong type or out of range, a bind address that is not
/// one, clashing ports, a certificate that cannot be read, a data directory that cannot be written.
/// </summary>
public static class SettingsValidator
{
    public static readonly IReadOnlyList<string> LogFormats = ["text", "json"];

    /// <summary>Prefixes of keys a <c>--Key=value</c> switch may set besides the named switches.</summary>
    private static readonly string[] GenericPrefixes = [SecureXferOptions.Section + ":", "Logging:"];

    /// <summary>The command line's problems: words that are not switches, switches nobody reads, values missing.</summary>
    public static IEnumerable<string> CheckArguments(IReadOnlyList<string> args)
    {
        foreach (var (name, value, isSwitch) in Split(args))
        {
            if (!isSwitch)
            {
                yield return $"'{name}' is not a switch; see --help.";
                continue;
            }

            var known = SettingsCatalog.Switches.ContainsKey(name)
                || GenericPrefixes.Any(p => name[2..].StartsWith(p, StringComparison.OrdinalIgnoreCase));
            if (!known)
            {
                var near = Nearest(name, SettingsCatalog.Switches.Keys);
                yield return $"unknown switch '{name}'" + (near is null ? "; see --help." : $"; did you mean '{near}'?");
            }

            if (value is null)
            {
                yield return $"switch '{name}' needs a value.";
            }
        }
    }

    /// <summary>Words on the command line that are neither a --switch nor its value.</summary>
    public static IEnumerable<string> StrayWords(IReadOnlyList<string> args) =>
        Split(args).Where(a => !a.IsSwitch).Select(a => a.Name);

    private static IEnumerable<(string Name, string? Value, bool IsSwitch)> Split(IReadOnlyList<string> args)
    {
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                yield return (arg, null, false);
                continue;
            }

            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            if (equals >= 0)
            {
                yield return (arg[..equals], arg[(equals + 1)..], true);
            }
            else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                yield return (arg, args[++i], true);
            }
            else
            {
                yield return (arg, null, true);
            }
        }
    }

    /// <summary>Reads and checks the settings; throws <see cref="ConfigurationException"/> listing every problem.</summary>
    public static SecureXferOptions Validate(IConfiguration configuration, IReadOnlyList<string>? args = null)
    {
        var (options, problems) = Check(configuration, args ?? []);

        if (problems.Count == 0)
        {
            problems.AddRange(CheckPortsFree(options));
        }

        // Only a configuration that is otherwise sound gets to create its data directory.
        if (problems.Count == 0 && CheckDataDirectory(options.DataDir) is { } dataProblem)
        {
            problems.Add(dataProblem);
        }

        return problems.Count > 0 ? throw new ConfigurationException(problems) : options;
    }

    /// <summary>The checks for the server's tools (backup, restore, healthcheck): everything but creating the data directory.</summary>
    public static SecureXferOptions ValidateForTools(IConfiguration configuration, IReadOnlyList<string> args)
    {
        var (options, problems) = Check(configuration, args);
        return problems.Count > 0 ? throw new ConfigurationException(problems) : options;
    }

    /// <summary>
    /// Every problem at once: the command line, unknown names, types and ranges, then the values
    /// that parsed (bound without the ones that did not), checked together.
    /// </summary>
    private static (SecureXferOptions Options, List<string> Problems) Check(IConfiguration configuration, IReadOnlyList<string> args)
    {
        var problems = new List<string>(CheckArguments(args));
        var bad = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        problems.AddRange(CheckKeysAndTypes(configuration, bad));
        var section = configuration.GetSection(SecureXferOptions.Section);
        if (bad.Count > 0)
        {
            var sound = section.AsEnumerable().Where(p => p.Value is not null && !bad.Contains(p.Key));
            section = new ConfigurationBuilder().AddInMemoryCollection(sound).Build().GetSection(SecureXferOptions.Section);
        }

        var options = section.Get<SecureXferOptions>() ?? new SecureXferOptions();
        problems.AddRange(CheckValues(options));
        return (options, problems);
    }

    /// <summary>The address the listeners bind to.</summary>
    public static IPAddress ParseBind(string bind) =>
        bind.Equals("localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback
        : IPAddress.TryParse(bind, out var address) ? address
        : throw new FormatException($"'{bind}' is not an IP address (or localhost).");

    private static IEnumerable<string> CheckKeysAndTypes(IConfiguration configuration, HashSet<string> bad)
    {
        foreach (var (key, value) in configuration.GetSection(SecureXferOptions.Section).AsEnumerable())
        {
            if (value is null)
            {
                continue;
            }

            var setting = SettingsCatalog.Find(key);
            if (setting is null)
            {
                var near = Nearest(key, SettingsCatalog.All.Select(s => s.Key));
                bad.Add(key);
                yield return $"unknown setting '{key}'" + (near is null ? "; see --help for the settings there are." : $"; did you mean '{near}'?");
                continue;
            }

            if (CheckValue(setting, value) is { } problem)
            {
                bad.Add(key);
                yield return $"{Name(setting)}: {problem}";
            }
        }
    }

    private static string? CheckValue(SettingInfo setting, string value)
    {
        var bounds = setting.Bounds;
        string Range() => bounds.Max == long.MaxValue ? $"at least {bounds.Min}" : $"between {bounds.Min} and {bounds.Max}";

        if (setting.Type == typeof(int) || setting.Type == typeof(long))
        {
            var max = setting.Type == typeof(int) ? Math.Min(bounds.Max, int.MaxValue) : bounds.Max;
            return long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) && number >= bounds.Min && number <= max
                ? null
                : $"'{value}' is not a whole number {Range()}.";
        }

        if (setting.Type == typeof(bool))
        {
            return bool.TryParse(value, out _) ? null : $"'{value}' is neither true nor false.";
        }

        if (setting.Type == typeof(TimeSpan))
        {
            // A bare number would be read as days: durations must say hours and minutes.
            return value.Contains(':', StringComparison.Ordinal) && TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out var span)
                && span > TimeSpan.Zero && span.TotalSeconds <= bounds.MaxSeconds
                ? null
                : $"'{value}' is not a duration between 00:00:01 and {SettingsCatalog.Format(TimeSpan.FromSeconds(bounds.MaxSeconds))} (d.hh:mm:ss, e.g. 00:05:00 for five minutes).";
        }

        return null;
    }

    private static IEnumerable<string> CheckValues(SecureXferOptions options)
    {
        var bind = SettingsCatalog.Find("SecureXfer:Bind")!;
        string? problem = null;
        try
        {
            ParseBind(options.Bind);
        }
        catch (FormatException ex)
        {
            problem = $"{Name(bind)}: {ex.Message}";
        }

        if (problem is not null)
        {
            yield return problem;
        }

        if (options.HttpsPort != 0 && options.HttpsPort == options.SxpPort)
        {
            yield return $"SecureXfer:HttpsPort and SecureXfer:SxpPort are both {options.HttpsPort}; the two listeners need different ports.";
        }

        if (!LogFormats.Contains(options.LogFormat, StringComparer.OrdinalIgnoreCase))
        {
            yield return $"{Name(SettingsCatalog.Find("SecureXfer:LogFormat")!)}: '{options.LogFormat}' is not one of {string.Join(", ", LogFormats)}.";
        }

        foreach (var check in new Action[]
        {
            () => NetworkGuard.Parse(options.RemoteAllowedNetworks),
            () => _ = new CrashPoints(Options.Create(options)),
        })
        {
            problem = null;
            try
            {
                check();
            }
            catch (InvalidOperationException ex)
            {
                problem = ex.Message;
            }

            if (problem is not null)
            {
                yield return problem;
            }
        }

        if (CheckDatabase(options.Database) is { } database)
        {
            yield return database;
        }

        if (CheckCertificate(options.Tls) is { } certificate)
        {
            yield return certificate;
        }
    }

    private static string? CheckDatabase(DatabaseOptions database)
    {
        if (string.Equals(database.Provider, DatabaseOptions.Sqlite, StringComparison.OrdinalIgnoreCase))
        {
            return string.IsNullOrEmpty(database.ConnectionString)
                ? null
                : "SecureXfer:Database:ConnectionString is only for postgres; SQLite always lives in the data directory.";
        }

        if (!string.Equals(database.Provider, DatabaseOptions.Postgres, StringComparison.OrdinalIgnoreCase))
        {
            return $"SecureXfer:Database:Provider: '{database.Provider}' is not one of {DatabaseOptions.Sqlite}, {DatabaseOptions.Postgres}.";
        }

        if (string.IsNullOrWhiteSpace(database.ConnectionString))
        {
            return "SecureXfer:Database:ConnectionString is required with SecureXfer:Database:Provider=postgres.";
        }

        try
        {
            var parsed = new Npgsql.NpgsqlConnectionStringBuilder(database.ConnectionString);
            return string.IsNullOrEmpty(parsed.Host) || string.IsNullOrEmpty(parsed.Database)
                ? "SecureXfer:Database:ConnectionString needs at least Host and Database."
                : null;
        }
        catch (ArgumentException ex)
        {
            // The message names the key, never the value (which may be the password).
            return $"SecureXfer:Database:ConnectionString is not a valid connection string: {ex.Message}";
        }
    }

    private static string? CheckCertificate(TlsOptions tls)
    {
        if (string.IsNullOrWhiteSpace(tls.CertificatePath))
        {
            return string.IsNullOrWhiteSpace(tls.KeyPath)
                ? null
                : "SecureXfer:Tls:KeyPath is set but SecureXfer:Tls:CertificatePath is not; give both, or neither for a generated certificate.";
        }

        foreach (var (name, path) in new[] { ("SecureXfer:Tls:CertificatePath", tls.CertificatePath), ("SecureXfer:Tls:KeyPath", tls.KeyPath) })
        {
            if (string.IsNullOrWhiteSpace(path))
            {
                continue;
            }

            try
            {
                using var probe = File.OpenRead(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return $"{name}: cannot read '{path}': {ex.Message}";
            }
        }

        try
        {
            using var certificate = X509Certificate2.CreateFromPemFile(tls.CertificatePath, string.IsNullOrWhiteSpace(tls.KeyPath) ? null : tls.KeyPath);
            if (!certificate.HasPrivateKey)
            {
                return $"SecureXfer:Tls:CertificatePath: '{tls.CertificatePath}' has no private key; set SecureXfer:Tls:KeyPath.";
            }

            if (certificate.NotAfter.ToUniversalTime() < DateTime.UtcNow)
            {
                return $"SecureXfer:Tls:CertificatePath: the certificate in '{tls.CertificatePath}' expired on {certificate.NotAfter.ToUniversalTime():yyyy-MM-dd}.";
            }
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            return $"SecureXfer:Tls: the certificate '{tls.CertificatePath}' and its key cannot be loaded as PEM: {ex.Message}";
        }

        return null;
    }

    /// <summary>
    /// Ports another process already listens on, found by binding them briefly before anything is
    /// created (the listeners bind for real later; a port taken in between is still reported then).
    /// </summary>
    private static IEnumerable<string> CheckPortsFree(SecureXferOptions options)
    {
        var address = ParseBind(options.Bind);
        foreach (var (name, port) in new[] { ("SecureXfer:HttpsPort", options.HttpsPort), ("SecureXfer:SxpPort", options.SxpPort) })
        {
            if (port == 0)
            {
                continue;
            }

            string? problem = null;
            using (var probe = new System.Net.Sockets.Socket(address.AddressFamily, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp))
            {
                try
                {
                    // Like Kestrel: a port left in TIME_WAIT is free, one with a listener is not.
                    probe.SetSocketOption(System.Net.Sockets.SocketOptionLevel.Socket, System.Net.Sockets.SocketOptionName.ReuseAddress, true);
                    probe.Bind(new IPEndPoint(address, port));
                }
                catch (System.Net.Sockets.SocketException ex)
                {
                    problem = ex.SocketErrorCode switch
                    {
                        System.Net.Sockets.SocketError.AddressAlreadyInUse => $"{name}: port {port} on {address} is already in use.",
                        System.Net.Sockets.SocketError.AddressNotAvailable => $"SecureXfer:Bind: {address} is not an address of this machine.",
                        System.Net.Sockets.SocketError.AccessDenied => $"{name}: port {port} needs privileges this process lacks.",
                        _ => $"{name}: port {port} on {address} cannot be bound ({ex.SocketErrorCode}).",
                    };
                }
            }

            if (problem is not null)
            {
                yield return problem;
            }
        }
    }

    /// <summary>Creates the data directory if needed and proves it takes a file.</summary>
    private static string? CheckDataDirectory(string dataDir)
    {
        if (string.IsNullOrWhiteSpace(dataDir))
        {
            return "SecureXfer:DataDir is empty.";
        }

        try
        {
            var root = Path.GetFullPath(dataDir);
            if (!Directory.Exists(root))
            {
                Directory.CreateDirectory(root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }

            var probe = Path.Combine(root, $".write-check-{Environment.ProcessId}");
            using (var stream = new FileStream(probe, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
                stream.WriteByte(0);
                stream.Flush(flushToDisk: true);
            }

            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            return $"SecureXfer:DataDir: cannot write to '{dataDir}': {ex.Message}";
        }
    }

    private static string Name(SettingInfo setting) =>
        setting.Switch is null ? setting.Key : $"{setting.Key} ({setting.Switch})";

    /// <summary>The candidate closest to a misspelt name, if one is close enough to be what was meant.</summary>
    private static string? Nearest(string name, IEnumerable<string> candidates)
    {
        var last = name.Split(':')[^1];
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in candidates)
        {
            var distance = string.Equals(candidate.Split(':')[^1], last, StringComparison.OrdinalIgnoreCase)
                ? 0
                : Distance(name.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (distance < bestDistance)
            {
                (best, bestDistance) = (candidate, distance);
            }
        }

        return bestDistance <= Math.Max(2, name.Length / 4) ? best : null;
    }

    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
