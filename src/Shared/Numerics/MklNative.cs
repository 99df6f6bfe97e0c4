using System.Runtime.InteropServices;

namespace RnnCluster.Numerics;

/// <summary>
/// Raw P/Invoke declarations into Intel MKL's single dynamic library <c>libmkl_rt.so</c>
/// (cblas, LAPACKE, VML and the service functions). Callers go through <see cref="Mkl"/>, which loads
/// the library and picks the threading layer first.
/// </summary>
internal static unsafe class MklNative
{
    public const string Library = "mkl_rt";

    public const int RowMajor = 101;
    public const int ColMajor = 102;
    public const int NoTrans = 111;
    public const int Trans = 112;
    public const int Upper = 121;
    public const int Lower = 122;
    public const int NonUnit = 131;
    public const int Left = 141;

    public const int ThreadingIntel = 0;
    public const int ThreadingSequential = 1;
    public const int ThreadingGnu = 3;

    // Conditional numerical reproducibility: results independent of memory alignment.
    public const int CbwrAuto = 2;
    public const int CbwrStrict = 0x10000;

    // VML accuracy: high accuracy (the default) is what Keras parity is checked against.
    public const uint VmlHighAccuracy = 0x2;

    [DllImport(Library, EntryPoint = "cblas_sgemm")]
    public static extern void Sgemm(int layout, int transA, int transB, int m, int n, int k,
        float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc);

    [DllImport(Library, EntryPoint = "cblas_dgemm")]
    public static extern void Dgemm(int layout, int transA, int transB, int m, int n, int k,
        double alpha, double* a, int lda, double* b, int ldb, double beta, double* c, int ldc);

    // Packed GEMM (MKL extension): identifiers for the packed operand and the packed marker.
    public const int PackBMatrix = 162;
    public const int Packed = 151;

    [DllImport(Library, EntryPoint = "cblas_sgemm_pack_get_size")]
    public static extern nuint SgemmPackGetSize(int identifier, int m, int n, int k);

    [DllImport(Library, EntryPoint = "cblas_sgemm_pack")]
    public static extern void SgemmPack(int layout, int identifier, int trans, int m, int n, int k, float alpha, float* source, int ld, float* destination);

    [DllImport(Library, EntryPoint = "cblas_sgemm_compute")]
    public static extern void SgemmCompute(int layout, int transA, int transB, int m, int n, int k, float* a, int lda, float* b, int ldb,
        float beta, float* c, int ldc);

    [DllImport(Library, EntryPoint = "cblas_strsm")]
    public static extern void Strsm(int layout, int side, int uplo, int transA, int diag, int m, int n,
        float alpha, float* a, int lda, float* b, int ldb);

    [DllImport(Library, EntryPoint = "cblas_dtrsm")]
    public static extern void Dtrsm(int layout, int side, int uplo, int transA, int diag, int m, int n,
        double alpha, double* a, int lda, double* b, int ldb);

    [DllImport(Library, EntryPoint = "cblas_saxpy")]
    public static extern void Saxpy(int n, float alpha, float* x, int incx, float* y, int incy);

    [DllImport(Library, EntryPoint = "cblas_daxpy")]
    public static extern void Daxpy(int n, double alpha, double* x, int incx, double* y, int incy);

    [DllImport(Library, EntryPoint = "cblas_sscal")]
    public static extern void Sscal(int n, float alpha, float* x, int incx);

    [DllImport(Library, EntryPoint = "cblas_dscal")]
    public static extern void Dscal(int n, double alpha, double* x, int incx);

    [DllImport(Library, EntryPoint = "cblas_sdot")]
    public static extern float Sdot(int n, float* x, int incx, float* y, int incy);

    [DllImport(Library, EntryPoint = "cblas_ddot")]
    public static extern double Ddot(int n, double* x, int incx, double* y, int incy);

    [DllImport(Library, EntryPoint = "vsTanh")]
    public static extern void VsTanh(int n, float* a, float* y);

    [DllImport(Library, EntryPoint = "vdTanh")]
    public static extern void VdTanh(int n, double* a, double* y);

    [DllImport(Library, EntryPoint = "vsExp")]
    public static extern void VsExp(int n, float* a, float* y);

    [DllImport(Library, EntryPoint = "vdExp")]
    public static extern void VdExp(int n, double* a, double* y);

    // LAPACKE (LP64: 32-bit integers), column-major as MathNet stores matrices. They return
    // LAPACK's info: 0 on success, -i when argument i is invalid, LapackeOutOfMemory.
    public const int LapackeOutOfMemory = -1010;

    [DllImport(Library, EntryPoint = "LAPACKE_sgeqrf")]
    public static extern int Sgeqrf(int layout, int m, int n, float* a, int lda, float* tau);

    [DllImport(Library, EntryPoint = "LAPACKE_dgeqrf")]
    public static extern int Dgeqrf(int layout, int m, int n, double* a, int lda, double* tau);

    [DllImport(Library, EntryPoint = "LAPACKE_sorgqr")]
    public static extern int Sorgqr(int layout, int m, int n, int k, float* a, int lda, float* tau);

    [DllImport(Library, EntryPoint = "LAPACKE_dorgqr")]
    public static extern int Dorgqr(int layout, int m, int n, int k, double* a, int lda, double* tau);

    [DllImport(Library, EntryPoint = "vmlSetMode")]
    public static extern uint VmlSetMode(uint mode);

    [DllImport(Library, EntryPoint = "MKL_Set_Threading_Layer")]
    public static extern int SetThreadingLayer(int layer);

    [DllImport(Library, EntryPoint = "MKL_Set_Num_Threads")]
    public static extern void SetNumThreads(int n);

    [DllImport(Library, EntryPoint = "MKL_Set_Num_Threads_Local")]
    public static extern int SetNumThreadsLocal(int n);

    [DllImport(Library, EntryPoint = "MKL_Get_Max_Threads")]
    public static extern int GetMaxThreads();

    [DllImport(Library, EntryPoint = "MKL_CBWR_Set")]
    public static extern int CbwrSet(int settings);

    [DllImport(Library, EntryPoint = "mkl_cbwr_get_auto_branch")]
    public static extern int CbwrGetAutoBranch();

    [DllImport(Library, EntryPoint = "MKL_Get_Version_String")]
    public static extern void GetVersionString(byte* buffer, int length);
}
