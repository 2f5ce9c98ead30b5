using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace SecureXfer.Server.Jobs;

/// <summary>
/// Starts due jobs: every second it takes (leases) what is due and runs it in the background, a
/// few at a time. Schedules live in the database, so they survive restarts; a run that was due
/// while the server was down runs once when it is back (trigger <c>missed</c>), not once per
/// missed time. On shutdown, running jobs are cancelled and recorded as interrupted.
/// </summary>
public sealed partial class JobScheduler(JobService jobs, ILogger<JobScheduler> logger) : BackgroundService
{
    private const int MaxConcurrent = 4;
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await jobs.CloseAbandonedRunsAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            // Leases still expire on their own: the server serves on.
            LogPollFailed(logger, ex);
        }

        var running = new List<Task>();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                running.RemoveAll(t => t.IsCompleted);
                if (running.Count < MaxConcurrent)
                {
                    foreach (var (job, trigger) in await jobs.TakeDueAsync(MaxConcurrent - running.Count, stoppingToken).ConfigureAwait(false))
                    {
                        running.Add(Task.Run(async () =>
                        {
                            try
                            {
                                await jobs.RunAsync(job, trigger, stoppingToken).ConfigureAwait(false);
                            }
                            catch (Exception ex) when (ex is not OutOfMemoryException)
                            {
                                LogRunFailed(logger, ex, job.Id);
                            }
                        }, CancellationToken.None));
                    }
                }

                await Task.Delay(Poll, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogPollFailed(logger, ex);
                await Task.Delay(Poll * 5, CancellationToken.None).ConfigureAwait(false);
            }
        }

        await Task.WhenAll(running).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId} could not be run or recorded")]
    private static partial void LogRunFailed(ILogger logger, Exception error, string jobId);

    [LoggerMessage(Level = LogLevel.Error, Message = "The job scheduler could not look for due jobs")]
    private static partial void LogPollFailed(ILogger logger, Exception error);
}
