using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Logging;
using SecureXfer.Server.Accounts;
using SecureXfer.Server.Persistence;

namespace SecureXfer.Server.Audit;

/// <summary>What happened, by whom, to what, from where; <see cref="AuditLog"/> adds time, order and the chain.</summary>
public sealed record AuditEvent(string Action, string Outcome, long? ActorId = null, string? Actor = null, string? Target = null, string? Source = null, string? Detail = null)
{
    public static AuditEvent By(AuthenticatedUser user, string action, string? target = null, string? source = null, string outcome = "ok", string? detail = null) =>
        new(action, outcome, user.Id, user.Username, target, source, detail);
}

/// <summary>The result of checking the chain: how many records, and the first one that does not fit.</summary>
public sealed record AuditVerification(bool Ok, long Records, long? BrokenAt, string? Reason);

/// <summary>
/// The append-only audit log. Records are written by one writer, in batches, each carrying the
/// SHA-256 of its content and of the record before it (a hash chain starting from zeros); the
/// table refuses updates and deletes. <see cref="VerifyAsync"/> recomputes the chain.
/// </summary>
public sealed partial class AuditLog : IAsyncDisposable
{
    // pg_advisory_xact_lock key of the chain's head.
    private const long ChainLock = 0x5358_4155_4449;

    public const string Genesis = "0000000000000000000000000000000000000000000000000000000000000000";

    private readonly IDbContextFactory<SecureXferDbContext> _dbFactory;
    private readonly TimeProvider _time;
    private readonly ILogger<AuditLog> _logger;
    private readonly Channel<(AuditEvent Event, long At)> _queue = Channel.CreateUnbounded<(AuditEvent, long)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writer;

    public AuditLog(IDbContextFactory<SecureXferDbContext> dbFactory, TimeProvider time, ILogger<AuditLog> logger)
    {
        _dbFactory = dbFactory;
        _time = time;
        _logger = logger;
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>Queues a record; it is written within moments, in order. Never throws.</summary>
    public void Record(AuditEvent audit) => _queue.Writer.TryWrite((audit, _time.GetUtcNow().ToUnixTimeMilliseconds()));

    /// <summary>Waits until everything recorded so far is in the database.</summary>
    public async Task FlushAsync()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_flushes)
        {
            _flushes.Enqueue(done);
        }

        if (!_queue.Writer.TryWrite((new AuditEvent(FlushMarker, string.Empty), 0)))
        {
            return;
        }

        await done.Task.ConfigureAwait(false);
    }

    public async Task<Page<AuditRecord>> ListAsync(int page, int pageSize, string? action, long? actorId, DateTimeOffset? since, DateTimeOffset? until, CancellationToken cancellationToken)
    {
        if (page < 1 || pageSize is < 1 or > 500)
        {
            throw new AccountException(AccountError.Invalid, "page starts at 1; pageSize is between 1 and 500.", "pageSize");
        }

        await FlushAsync().ConfigureAwait(false);
        await using var db = await _dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var query = db.Audit.AsNoTracking();
        if (!string.IsNullOrEmpty(action))
        {
            query = query.Where(a => a.Action == action);
        }

        if (actorId is { } actor)
        {
            query = query.Where(a => a.ActorId == actor);
        }

        if (since is { } from)
        {
            var ms = from.ToUnixTimeMilliseconds();
            query = query.Where(a => a.At >= ms);
        }

        if (until is { } to)
        {
            var ms = to.ToUnixTimeMilliseconds();
            query = query.Where(a => a.At < ms);
        }

        var total = await query.CountAsync(cancellationToken).ConfigureAwait(false);
        var items = await query.OrderByDescending(a => a.Seq).Skip((page - 1) * pageSize).Take(pageSize).ToListAsync(cancellationToken).ConfigureAwait(false);
        return new Page<AuditRecord>(items, total, page, pageSize);
    }

    /// <summary>Recomputes every record's hash from its content and its predecessor's hash.</summary>
    public async Task<AuditVerification> VerifyAsync(CancellationToken cancellationToken)
    {
        await FlushAsync().ConfigureAwait(false);
        await using var db = await _dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var previous = Genesis;
        long expectedSeq = 1;
        long count = 0;
        await foreach (var record in db.Audit.AsNoTracking().OrderBy(a => a.Seq).AsAsyncEnumerable().WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            count++;
            if (record.Seq != expectedSeq)
            {
                return new AuditVerification(false, count, expectedSeq, $"record {expectedSeq} is missing");
            }

            if (record.PrevHash != previous)
            {
                return new AuditVerification(false, count, record.Seq, "its link to the record before does not match");
            }

            if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Hash(record)), Encoding.ASCII.GetBytes(record.Hash)))
            {
                return new AuditVerification(false, count, record.Seq, "its content does not match its hash");
            }

            previous = record.Hash;
            expectedSeq++;
        }

        return new AuditVerification(true, count, null, null);
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
    }

    private const string FlushMarker = "\u0000flush";
    private static readonly TimeSpan BatchWindow = TimeSpan.FromMilliseconds(250);
    private readonly Queue<TaskCompletionSource> _flushes = new();

    /// <summary>The hash of a record: SHA-256 over its fields in a fixed JSON form, including the previous hash.</summary>
    public static string Hash(AuditRecord record)
    {
        var canonical = JsonSerializer.SerializeToUtf8Bytes(new object?[]
        {
            record.Seq, record.At, record.ActorId, record.Actor, record.Action, record.Target, record.Source, record.Outcome, record.Detail, record.PrevHash,
        });
        return Convert.ToHexStringLower(SHA256.HashData(canonical));
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<(AuditEvent Event, long At)>();
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            // Records are gathered for a moment and written together: the database has one writer
            // at a time, and a transaction per burst (a folder of small files is thousands of
            // records) would keep the file commits waiting. Someone waiting to read goes first.
            bool waiting;
            lock (_flushes)
            {
                waiting = _flushes.Count > 0;
            }

            if (!waiting)
            {
                await Task.Delay(BatchWindow).ConfigureAwait(false);
            }

            batch.Clear();
            var flushes = 0;
            while (batch.Count < 5000 && _queue.Reader.TryRead(out var item))
            {
                if (item.Event.Action == FlushMarker)
                {
                    flushes++;
                }
                else
                {
                    batch.Add(item);
                }
            }

            if (batch.Count > 0)
            {
                await WriteBatchAsync(batch).ConfigureAwait(false);
            }

            lock (_flushes)
            {
                for (var i = 0; i < flushes && _flushes.TryDequeue(out var waiter); i++)
                {
                    waiter.TrySetResult();
                }
            }
        }
    }

    private async Task WriteBatchAsync(List<(AuditEvent Event, long At)> batch)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var db = await _dbFactory.CreateDbContextAsync().ConfigureAwait(false);
                await using var transaction = await db.Database.BeginTransactionAsync().ConfigureAwait(false);
                if (db.Database.IsNpgsql())
                {
                    // Several instances append to one chain: one at a time (SQLite's single writer does this by itself).
                    await db.Database.ExecuteSqlRawAsync("SELECT pg_advisory_xact_lock({0})", ChainLock).ConfigureAwait(false);
                }

                var last = await db.Audit.AsNoTracking().OrderByDescending(a => a.Seq).Select(a => new { a.Seq, a.Hash }).FirstOrDefaultAsync().ConfigureAwait(false);
                var seq = last?.Seq ?? 0;
                var previous = last?.Hash ?? Genesis;

                // One prepared statement for the batch: far cheaper than tracking a thousand entities.
                var connection = db.Database.GetDbConnection();
                await using var insert = connection.CreateCommand();
                insert.Transaction = transaction.GetDbTransaction();
                insert.CommandText = "INSERT INTO audit_log (seq, at, actor_id, actor, action, target, source, outcome, detail, prev_hash, hash) "
                    + "VALUES (@seq, @at, @actorId, @actor, @action, @target, @source, @outcome, @detail, @prev, @hash)";
                var parameters = new[] { "@seq", "@at", "@actorId", "@actor", "@action", "@target", "@source", "@outcome", "@detail", "@prev", "@hash" }
                    .Select(name =>
                    {
                        var parameter = insert.CreateParameter();
                        parameter.ParameterName = name;
                        insert.Parameters.Add(parameter);
                        return parameter;
                    })
                    .ToArray();
                foreach (var (audit, at) in batch)
                {
                    var record = new AuditRecord
                    {
                        Seq = ++seq,
                        At = at,
                        ActorId = audit.ActorId,
                        Actor = audit.Actor,
                        Action = audit.Action,
                        Target = audit.Target,
                        Source = audit.Source,
                        Outcome = audit.Outcome,
                        Detail = audit.Detail,
                        PrevHash = previous,
                        Hash = string.Empty,
                    };
                    record.Hash = Hash(record);
                    previous = record.Hash;
                    object?[] values = [record.Seq, record.At, record.ActorId, record.Actor, record.Action, record.Target, record.Source, record.Outcome, record.Detail, record.PrevHash, record.Hash];
                    for (var i = 0; i < values.Length; i++)
                    {
                        parameters[i].Value = values[i] ?? DBNull.Value;
                    }

                    await insert.ExecuteNonQueryAsync().ConfigureAwait(false);
                }

                await transaction.CommitAsync().ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (attempt < 5 && (DbErrors.IsContention(ex) || DbErrors.IsUniqueViolation(ex)))
            {
                await Task.Delay(50 * attempt).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                LogWriteFailed(_logger, ex, batch.Count);
                return;
            }
        }
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Error, Message = "{Count} audit records could not be written")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception, int count);
}
