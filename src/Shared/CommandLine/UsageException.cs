namespace RnnCluster.CommandLine;

/// <summary>
/// A command-line mistake found after parsing (a value out of range, a missing address): the
/// program prints it as one line with a pointer to the command's help and exits with code 2.
/// </summary>
public class UsageException(string message) : Exception(message);
