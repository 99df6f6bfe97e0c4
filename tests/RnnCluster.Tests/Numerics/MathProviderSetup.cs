using System.Runtime.CompilerServices;
using RnnCluster.Numerics;

namespace RnnCluster.Tests.Numerics;

/// <summary>
/// Loads MKL (one thread, as every in-process test uses it) and installs its MathNet provider when
/// the test assembly loads, before any test runs. Weight initialization picks MKL's QR once MKL is
/// loaded, so without this a test that initializes the same model twice could straddle the moment a
/// concurrent test first loads MKL and see two different (equally valid) sets of bits.
/// </summary>
internal static class MathProviderSetup
{
#pragma warning disable CA2255 // a module initializer in a test assembly is what it is for
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void LoadMkl()
    {
        try
        {
            MathBackend.Start(new MathOptions(MathKind.Mkl));
        }
        catch (MathBackendException)
        {
            // No MKL here: the MKL tests fail on their own, each saying why.
        }
    }
}
