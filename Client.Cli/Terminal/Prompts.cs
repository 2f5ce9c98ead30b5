using System.Text;

namespace SecureXfer.Cli.Terminal;

/// <summary>Questions asked on the terminal. Prompts go to stderr so stdout stays clean.</summary>
internal static class Prompts
{
    /// <summary>Someone can answer: stdin and stderr are both a terminal.</summary>
    public static bool Interactive => !Console.IsInputRedirected && !Console.IsErrorRedirected;

    public static bool CanPromptForPassword => !Console.IsInputRedirected;

    /// <summary>Reads a line without echoing it. Backspace edits; Enter ends.</summary>
    public static string ReadSecret(string prompt)
    {
        Console.Error.Write(prompt);
        var secret = new StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                break;
            }

            if (key.Key == ConsoleKey.Backspace)
            {
                if (secret.Length > 0)
                {
                    secret.Length--;
                }

                continue;
            }

            if (key.KeyChar != '\0' && !char.IsControl(key.KeyChar))
            {
                secret.Append(key.KeyChar);
            }
        }

        Console.Error.WriteLine();
        return secret.ToString();
    }

    /// <summary>One line from stdin, without its line ending; null at end of input.</summary>
    public static string? ReadLineFromStdin() => Console.In.ReadLine();

    public static bool Confirm(string question)
    {
        Console.Error.Write(question + " [y/N] ");
        var answer = Console.In.ReadLine()?.Trim();
        return answer is not null && (answer.Equals("y", StringComparison.OrdinalIgnoreCase) || answer.Equals("yes", StringComparison.OrdinalIgnoreCase));
    }
}
