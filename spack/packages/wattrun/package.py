# Spack recipe for wattrun. Use it from a repository of your own:
#   spack repo add <wattrun>/spack   (holds repo.yaml and packages/)
#   spack install wattrun ^openmpi
# Written against Spack's documented package API (CMakePackage, version,
# variant, depends_on with type= and when=, cmake_args/define); see the
# README for how it was checked.

from spack.package import *


class Wattrun(CMakePackage):
    """Per-run and per-job energy from a computing facility's node power
    telemetry and Slurm logs, and a fitted, hardware-aware energy model of
    neural-network training (the method of Tripp et al. 2024, BUTTER-E)."""

    homepage = "https://github.com/wattrun/wattrun"
    git = "https://github.com/wattrun/wattrun.git"

    license("BSD-3-Clause")

    version("main", branch="main")

    variant("tests", default=False, description="Build the test suite (gtest; run with `spack install --test=root`)")

    depends_on("cmake@3.22:", type="build")
    # Language virtuals (Spack >= 0.22); C because FindHDF5 probes the C wrappers.
    depends_on("c", type="build")
    depends_on("cxx", type="build")

    depends_on("mpi")
    depends_on("hdf5@1.10:+mpi")
    depends_on("eigen@3.3:")
    depends_on("ceres-solver")
    depends_on("yaml-cpp")
    depends_on("cli11")
    depends_on("isa-l")
    depends_on("curl")  # the Prometheus telemetry source: HTTP
    depends_on("nlohmann-json@3:")  # and its JSON responses
    # The time-zone library of date (scheduler and telemetry zones), with the
    # operating system's zone database: compute nodes cannot download one.
    depends_on("date+tz tzdb=system")
    depends_on("zlib-api")

    # find_package(GTest) runs at configure time, hence build as well as test.
    depends_on("googletest", type=("build", "test"), when="+tests")

    def cmake_args(self):
        return [
            self.define_from_variant("WATTRUN_BUILD_TESTS", "tests"),
            self.define("HDF5_PREFER_PARALLEL", True),
            self.define("MPI_CXX_COMPILER", self.spec["mpi"].mpicxx),
        ]

    def check(self):
        # `spack install --test=root wattrun+tests`: the suite under ctest.
        if self.spec.satisfies("+tests"):
            with working_dir(self.build_directory):
                ctest("--output-on-failure", "-LE", "e2e")
