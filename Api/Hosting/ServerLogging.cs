using System.Text.Json;
using Microsoft.Extensions.Logging.Console;
using SecureXfer.Server.Configuration;

namespace SecureXfer.Api.Hosting;

/// <summary>
/// Console logs: one line per event with its scopes (connection, request and transfer ids) by
/// default, or one JSON object per line with <c>SecureXfer:LogFormat=json</c>. Times are UTC.
/// </summary>
internal static class ServerLogging
{
    public const string TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";

    public static bool Json { get; private set; }

    public static void Configure(ILoggingBuilder logging, SecureXferOptions options)
    {
        Json = string.Equals(options.LogFormat, "json", StringComparison.OrdinalIgnoreCase);
        logging.ClearProviders();
        if (Json)
        {
            logging.AddJsonConsole(json =>
            {
                json.IncludeScopes = true;
                json.UseUtcTimestamp = true;
                json.TimestampFormat = TimestampFormat;
                json.JsonWriterOptions = new JsonWriterOptions { Indented = false };
            });
        }
        else
        {
            logging.AddSimpleConsole(text =>
            {
                text.IncludeScopes = true;
                text.SingleLine = true;
                text.UseUtcTimestamp = true;
                text.TimestampFormat = TimestampFormat + " ";
                text.ColorBehavior = LoggerColorBehavior.Disabled;
            });
        }

        // Kestrel's and the hosting layer's scopes carry ConnectionId, RequestId and TraceId into every line.
        logging.Configure(factory => factory.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId);
    }
}

/// <summary>
/// What the server tells its operator at start-up (fingerprint, bound ports, a generated admin
/// password): plain lines, or JSON objects shaped like the JSON log lines when logs are JSON.
/// </summary>
internal static class Announcer
{
    public static void Line(string message)
    {
        if (ServerLogging.Json)
        {
            using var buffer = new MemoryStream();
            using (var json = new Utf8JsonWriter(buffer))
            {
                json.WriteStartObject();
                json.WriteString("Timestamp", DateTime.UtcNow.ToString(ServerLogging.TimestampFormat, System.Globalization.CultureInfo.InvariantCulture));
                json.WriteNumber("EventId", 0);
                json.WriteString("LogLevel", "Information");
                json.WriteString("Category", "SecureXfer");
                json.WriteString("Message", message);
                json.WriteEndObject();
            }

            Console.Out.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
        }
        else
        {
            Console.Out.WriteLine(message);
        }

        Console.Out.Flush();
    }
}
