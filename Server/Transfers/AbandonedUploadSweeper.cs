using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SecureXfer.Server.Configuration;

namespace SecureXfer.Server.Transfers;

/// <summary>
/// Discards uploads nobody has sent to for <see cref="SecureXferOptions.AbandonedUploadAge"/>:
/// their staged data and their quota reservation go, so a client that opens uploads and walks
/// away cannot fill the disk or the quota for good. Checked every <see cref="SecureXferOptions.AbandonedUploadSweep"/>.
/// </summary>
public sealed partial class AbandonedUploadSweeper(UploadService uploads, IOptions<SecureXferOptions> options, ILogger<AbandonedUploadSweeper> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.Value.AbandonedUploadSweep, stoppingToken).ConfigureAwait(false);
                var discarded = await uploads.DiscardAbandonedAsync(options.Value.AbandonedUploadAge, stoppingToken).ConfigureAwait(false);
                if (discarded > 0)
                {
                    LogDiscarded(logger, discarded, options.Value.AbandonedUploadAge);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogSweepFailed(logger, ex);
            }
        }
    }

    [LoggerMessage(EventId = 2201, Level = LogLevel.Information, Message = "Discarded {Count} uploads nobody had sent to for {Age}")]
    private static partial void LogDiscarded(ILogger logger, int count, TimeSpan age);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Error, Message = "The sweep for abandoned uploads failed; it runs again later")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
