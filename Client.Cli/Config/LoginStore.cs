using System.Text.Json;

namespace SecureXfer.Cli.Config;

/// <summary>
/// The login state file in the config directory. The directory is created 0700 and the file
/// is created 0600 by the open call itself, under a fresh name, so no byte of the token is
/// ever readable by anyone else; it then replaces the previous file by rename.
/// </summary>
internal sealed class LoginStore(string directory)
{
    public const string FileName = "login.json";

    private const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode FileMode600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public string Directory { get; } = directory;

    public string FilePath => Path.Combine(Directory, FileName);

    /// <summary>The directory from --config, else SXFER_CONFIG, else ~/.config/sxfer.</summary>
    public static LoginStore Locate(string? option)
    {
        var chosen = !string.IsNullOrWhiteSpace(option) ? option : Environment.GetEnvironmentVariable("SXFER_CONFIG");
        if (string.IsNullOrWhiteSpace(chosen))
        {
            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            chosen = Path.Combine(home, ".config", "sxfer");
        }

        return new LoginStore(Path.GetFullPath(chosen));
    }

    public LoginState? Load()
    {
        string text;
        try
        {
            text = File.ReadAllText(FilePath);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(text, ConfigJsonContext.Default.LoginState);
        }
        catch (JsonException)
        {
            throw new CliException(ExitCodes.Auth, "not_logged_in", $"The login state in {FilePath} is unreadable; run 'sxfer login' again.");
        }
    }

    public void Save(LoginState state)
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.CreateDirectory(Directory, DirectoryMode);
        }
        else
        {
            var mode = File.GetUnixFileMode(Directory);
            var shared = (mode & UnixFileMode.OtherWrite) != 0;
            if (!shared && (mode & ~DirectoryMode) != 0)
            {
                // A config directory others can look into is narrowed to its owner; a shared
                // one such as /tmp is left alone (the file itself is still 0600).
                File.SetUnixFileMode(Directory, DirectoryMode);
            }
        }

        var temporary = Path.Combine(Directory, $".{FileName}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.None,
            UnixCreateMode = FileMode600,
        };

        try
        {
            using (var stream = new FileStream(temporary, options))
            {
                JsonSerializer.Serialize(stream, state, ConfigJsonContext.Default.LoginState);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, FilePath, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>
    /// Holds the config directory's lock file while <paramref name="work"/> runs, so two sxfer
    /// processes never spend the same single-use refresh token (the server would take that for
    /// theft and revoke the login). Waits up to 30 seconds for another process to finish.
    /// </summary>
    public async Task<T> LockedAsync<T>(Func<Task<T>> work, CancellationToken cancellationToken)
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.CreateDirectory(Directory, DirectoryMode);
        }

        var path = Path.Combine(Directory, "login.lock");
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            FileStream held;
            try
            {
                held = new FileStream(path, new FileStreamOptions
                {
                    Mode = FileMode.OpenOrCreate,
                    Access = FileAccess.ReadWrite,
                    Share = FileShare.None,
                    UnixCreateMode = FileMode600,
                });
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
                continue;
            }

            await using (held.ConfigureAwait(false))
            {
                return await work().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Forgets the login; true when there was one.</summary>
    public bool Delete()
    {
        if (!File.Exists(FilePath))
        {
            return false;
        }

        File.Delete(FilePath);
        return true;
    }
}
