using System.Text.Json.Serialization;

namespace SecureXfer.Shared.Protocol;

/// <summary>Typed failure reasons. Every refusal on the wire carries one of these.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ErrorCode>))]
public enum ErrorCode
{
    /// <summary>The frame could not be parsed, or arrived in a state where it is not allowed.</summary>
    BadFrame = 1,

    /// <summary>The declared frame length exceeds the limit.</summary>
    FrameTooLarge = 2,

    /// <summary>The peer speaks a protocol version this side does not.</summary>
    UnsupportedVersion = 3,

    /// <summary>An operation was attempted before authentication.</summary>
    AuthRequired = 4,

    /// <summary>The token or key was refused.</summary>
    AuthFailed = 5,

    /// <summary>The path is malformed or escapes the user's root.</summary>
    InvalidPath = 6,

    NotFound = 7,

    /// <summary>The target exists and the request did not allow replacing it, or a type clash (file vs directory).</summary>
    Conflict = 8,

    QuotaExceeded = 9,

    /// <summary>The whole-file SHA-256 did not match.</summary>
    IntegrityFailed = 10,

    /// <summary>A request value is out of range (size, chunk size, offset).</summary>
    BadRequest = 11,

    /// <summary>The upload id is unknown, finished, or was taken over by a newer open.</summary>
    UploadGone = 12,

    /// <summary>The server ran out of disk space.</summary>
    StorageFull = 13,

    /// <summary>Too many connections or operations.</summary>
    Busy = 14,

    Internal = 15,

    /// <summary>The connection was idle, too slow to authenticate, or stopped reading; it is closed. Reconnect.</summary>
    Timeout = 16,
}
