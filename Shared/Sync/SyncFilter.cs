using System.Text;
using System.Text.RegularExpressions;
using SecureXfer.Shared.Endpoints;

namespace SecureXfer.Shared.Sync;

/// <summary>
/// Which paths a sync looks at. Exclude rules follow .gitignore: <c>*</c> and <c>?</c> stay within
/// one name, <c>**</c> crosses directories, a pattern with a '/' is anchored to the directory of
/// its ignore file (or the sync root), one without matches a name at any depth, a trailing '/'
/// matches directories only, <c>!</c> re-includes, and the last matching rule wins. With include
/// patterns, only files matching one are synced. An excluded path is neither copied nor deleted.
/// </summary>
public sealed class SyncFilter
{
    /// <summary>The ignore file read from every source directory that has one.</summary>
    public const string IgnoreFileName = ".sxferignore";

    public static readonly SyncFilter None = new([], []);

    private readonly IReadOnlyList<Rule> _excludes;
    private readonly IReadOnlyList<Rule> _includes;

    private SyncFilter(IReadOnlyList<Rule> excludes, IReadOnlyList<Rule> includes)
    {
        _excludes = excludes;
        _includes = includes;
    }

    /// <summary>A filter from command-line patterns: <paramref name="excludes"/> (--exclude) and <paramref name="includes"/> (--include).</summary>
    public static SyncFilter Create(IEnumerable<string> excludes, IEnumerable<string> includes) =>
        new([.. excludes.Select(p => Rule.Parse(string.Empty, p, allowNegation: false))], [.. includes.Select(p => Rule.Parse(string.Empty, p, allowNegation: false))]);

    /// <summary>
    /// This filter with the rules of an ignore file in <paramref name="directory"/> added. They apply
    /// below that directory and come before the command-line excludes, which therefore win.
    /// </summary>
    public SyncFilter WithIgnoreFile(string directory, string text)
    {
        var added = text.Split('\n')
            .Select(line => line.TrimEnd('\r'))
            .Select(line => Rule.TryParseLine(directory, line))
            .OfType<Rule>()
            .ToList();
        if (added.Count == 0)
        {
            return this;
        }

        var commandLine = _excludes.Where(r => r.FromCommandLine);
        return new SyncFilter([.. _excludes.Where(r => !r.FromCommandLine), .. added, .. commandLine], _includes);
    }

    /// <summary>True when <paramref name="path"/> (relative to the sync root) is left alone.</summary>
    public bool Excludes(string path, bool isDirectory)
    {
        var excluded = false;
        foreach (var rule in _excludes)
        {
            if (rule.Matches(path, isDirectory))
            {
                excluded = !rule.Negated;
            }
        }

        if (excluded || isDirectory || _includes.Count == 0)
        {
            return excluded;
        }

        return !_includes.Any(rule => rule.Matches(path, isDirectory: false));
    }

    private sealed class Rule
    {
        private readonly string _base;
        private readonly Regex _pattern;
        private readonly bool _anchored;
        private readonly bool _directoriesOnly;

        private Rule(string basePath, Regex pattern, bool anchored, bool directoriesOnly, bool negated, bool fromCommandLine)
        {
            _base = basePath;
            _pattern = pattern;
            _anchored = anchored;
            _directoriesOnly = directoriesOnly;
            Negated = negated;
            FromCommandLine = fromCommandLine;
        }

        public bool Negated { get; }

        public bool FromCommandLine { get; }

        /// <summary>A line of an ignore file: blank lines and '#' comments are skipped; '\' escapes a leading '#' or '!'.</summary>
        public static Rule? TryParseLine(string directory, string line)
        {
            var text = line.TrimEnd(' ', '\t');
            if (text.Length == 0 || text[0] == '#')
            {
                return null;
            }

            return Parse(directory, text, allowNegation: true, fromCommandLine: false);
        }

        public static Rule Parse(string directory, string text, bool allowNegation, bool fromCommandLine = true)
        {
            var negated = false;
            if (allowNegation && text.StartsWith('!'))
            {
                negated = true;
                text = text[1..];
            }
            else if (text.StartsWith("\\#", StringComparison.Ordinal) || text.StartsWith("\\!", StringComparison.Ordinal))
            {
                text = text[1..];
            }

            var directoriesOnly = text.EndsWith('/');
            text = text.TrimEnd('/');
            var anchored = text.Contains('/', StringComparison.Ordinal);
            text = text.TrimStart('/');
            if (text.Length == 0)
            {
                throw new ArgumentException("An empty filter pattern matches nothing; remove it.");
            }

            return new Rule(directory, ToRegex(text), anchored, directoriesOnly, negated, fromCommandLine);
        }

        public bool Matches(string path, bool isDirectory)
        {
            if (_directoriesOnly && !isDirectory)
            {
                return false;
            }

            string relative;
            if (_base.Length == 0)
            {
                relative = path;
            }
            else if (path.Length > _base.Length && path.StartsWith(_base + "/", StringComparison.Ordinal))
            {
                relative = path[(_base.Length + 1)..];
            }
            else
            {
                return false;
            }

            return _pattern.IsMatch(_anchored ? relative : EndpointPaths.Name(relative));
        }

        /// <summary>A glob as a whole-string regular expression (non-backtracking, so no pattern can make matching slow).</summary>
        private static Regex ToRegex(string glob)
        {
            var regex = new StringBuilder("^");
            for (var i = 0; i < glob.Length; i++)
            {
                var c = glob[i];
                switch (c)
                {
                    case '*' when i + 1 < glob.Length && glob[i + 1] == '*':
                        var slashAfter = i + 2 < glob.Length && glob[i + 2] == '/';
                        regex.Append(slashAfter ? "(?:.*/)?" : ".*");
                        i += slashAfter ? 2 : 1;
                        break;
                    case '*':
                        regex.Append("[^/]*");
                        break;
                    case '?':
                        regex.Append("[^/]");
                        break;
                    case '[' when glob.IndexOf(']', i + 2) is var close and > 0:
                        var set = glob[(i + 1)..close];
                        regex.Append('[');
                        if (set.StartsWith('!') || set.StartsWith('^'))
                        {
                            regex.Append('^');
                            set = set[1..];
                        }

                        regex.Append(set.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("[", "\\[", StringComparison.Ordinal)).Append(']');
                        i = close;
                        break;
                    case '\\' when i + 1 < glob.Length:
                        regex.Append(Regex.Escape(glob[++i].ToString()));
                        break;
                    default:
                        regex.Append(Regex.Escape(c.ToString()));
                        break;
                }
            }

            return new Regex(regex.Append('$').ToString(), RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);
        }
    }
}
