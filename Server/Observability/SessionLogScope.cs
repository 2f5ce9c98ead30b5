using System.Collections;

namespace SecureXfer.Server.Observability;

/// <summary>
/// The log scope of one SXP connection: the account once it has authenticated and the transfer
/// the connection is working on. Read when a line is written, so the session updates it in
/// place as it goes (no allocation per frame); Kestrel's own scope adds the connection id.
/// </summary>
public sealed class SessionLogScope : IReadOnlyList<KeyValuePair<string, object?>>
{
    public long? UserId { get; set; }

    /// <summary>An upload's id, or <c>download:STREAM</c> while a download streams.</summary>
    public string? TransferId { get; set; }

    public int Count => 2;

    public KeyValuePair<string, object?> this[int index] => index switch
    {
        0 => new("UserId", UserId),
        1 => new("TransferId", TransferId),
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        yield return this[0];
        yield return this[1];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => $"UserId:{UserId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"} TransferId:{TransferId ?? "-"}";
}
