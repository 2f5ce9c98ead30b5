namespace SecureXfer.Server.Accounts;

/// <summary>Why an account operation was refused; each front-end maps it to its own answer.</summary>
public enum AccountError
{
    /// <summary>No such user (or not one the caller may see).</summary>
    NotFound,

    /// <summary>The request clashes with the current state: a taken username, the last admin.</summary>
    Conflict,

    /// <summary>A value breaks a rule: username, password, role, quota.</summary>
    Invalid,

    /// <summary>The caller's copy is out of date (its version no longer matches).</summary>
    Stale,

    /// <summary>The current password given to confirm a change is wrong.</summary>
    WrongPassword,
}

public sealed class AccountException(AccountError error, string message, string? field = null) : Exception(message)
{
    public AccountError Error { get; } = error;

    /// <summary>The request field at fault, for <see cref="AccountError.Invalid"/>.</summary>
    public string? Field { get; } = field;
}
