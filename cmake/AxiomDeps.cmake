# Every external dependency of Axiom is found here, and only here. Each becomes an imported
# target (Axiom::name) that the project's targets link to.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(OpenSSL 3.0 REQUIRED COMPONENTS Crypto SSL)
find_package(PostgreSQL REQUIRED)

pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET GLOBAL rdkafka>=2.0)
pkg_check_modules(AVRO REQUIRED IMPORTED_TARGET GLOBAL avro-c>=1.11)
pkg_check_modules(FIDO2 REQUIRED IMPORTED_TARGET GLOBAL libfido2>=1.12)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET GLOBAL jansson>=2.14)
pkg_check_modules(CHECK REQUIRED IMPORTED_TARGET GLOBAL check>=0.15)
pkg_check_modules(MHD REQUIRED IMPORTED_TARGET GLOBAL libmicrohttpd>=0.9.70)

add_library(Axiom::rdkafka ALIAS PkgConfig::RDKAFKA)
add_library(Axiom::avro ALIAS PkgConfig::AVRO)
add_library(Axiom::fido2 ALIAS PkgConfig::FIDO2)
add_library(Axiom::jansson ALIAS PkgConfig::JANSSON)
add_library(Axiom::check ALIAS PkgConfig::CHECK)
add_library(Axiom::microhttpd ALIAS PkgConfig::MHD) # the applier's /metrics endpoint
add_library(Axiom::crypto ALIAS OpenSSL::Crypto)
add_library(Axiom::ssl ALIAS OpenSSL::SSL) # the TLS ApiVersions probe (ax_kafka_apiv.c)
add_library(Axiom::pq ALIAS PostgreSQL::PostgreSQL)
add_library(Axiom::threads ALIAS Threads::Threads)
