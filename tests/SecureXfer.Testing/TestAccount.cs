namespace SecureXfer.Tests.Support;

/// <summary>
/// The local system account the FTP and SFTP peers log in (vsftpd through PAM, sshd with its
/// password or the test keys): created once, with a fixed password and a shell listed in /etc/shells.
/// </summary>
public static class TestAccount
{
    public const string User = "sxftp";
    public const string Password = "ftp-test-password-1";

    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static bool _ready;

    public static string Home => Path.Combine("/home", User);

    public static async Task EnsureAsync()
    {
        await Gate.WaitAsync();
        try
        {
            if (_ready)
            {
                return;
            }

            if ((await Tool.RunAsync("id", [User])).ExitCode != 0)
            {
                var added = await Tool.RunAsync("useradd", ["--create-home", "--shell", "/bin/bash", User]);
                if (added.ExitCode != 0 && (await Tool.RunAsync("id", [User])).ExitCode != 0)
                {
                    throw new InvalidOperationException("useradd failed: " + added.Stderr);
                }
            }

            var set = await Tool.RunAsync("chpasswd", [], stdin: $"{User}:{Password}\n");
            if (set.ExitCode != 0)
            {
                throw new InvalidOperationException("chpasswd failed: " + set.Stderr);
            }

            Directory.CreateDirectory(Home);
            _ready = true;
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>A fresh directory in the account's home, owned by it; returned relative to the home.</summary>
    public static async Task<string> NewDirectoryAsync()
    {
        await EnsureAsync();
        var name = "t-" + Guid.NewGuid().ToString("N")[..10];
        var full = Path.Combine(Home, name);
        Directory.CreateDirectory(full);
        var owned = await Tool.RunAsync("chown", ["-R", $"{User}:{User}", full]);
        if (owned.ExitCode != 0)
        {
            throw new InvalidOperationException("chown failed: " + owned.Stderr);
        }

        return name;
    }
}
