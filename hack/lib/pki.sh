#!/usr/bin/env bash
# PKI for the local control plane (hack/cluster.sh), made with openssl only.
#
#   pki::ensure DIR   creates what is missing or no longer valid under DIR, keeps the rest
#
# Files (each NAME.crt + NAME.key; leaves also keep the NAME.ext they were signed with):
#   ca, front-proxy-ca, backupview-ca       self-signed CAs
#   apiserver            serving cert of kube-apiserver              (ca)
#   admin                client, O=system:masters CN=admin           (ca)
#   alice                client, CN=alice, no groups                 (ca)
#   kube-controller-manager  client, CN=system:kube-controller-manager (ca): the user the
#                        bootstrap RBAC grants kube-controller-manager's rights to
#   front-proxy-client   client cert kube-apiserver proxies with     (front-proxy-ca)
#   backupview           serving cert of backupview-apiserver        (backupview-ca)
#   sa.key, sa.pub       service-account signing key pair
#
# A file is reused when it is present, not expiring within a day, signed by its current CA,
# matches its key and (leaves) was made with the same extensions; otherwise it is remade.
# PKI_KEY_TYPE=ec (default, P-256: fast) or rsa (2048 bits).
#
# This file is meant to be sourced.

pki::_genkey() { # OUT
  case ${PKI_KEY_TYPE:-ec} in
    ec) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null ;;
    rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null ;;
    *) echo "PKI_KEY_TYPE must be ec or rsa, not '${PKI_KEY_TYPE}'" >&2; return 1 ;;
  esac
  chmod 600 "$1"
}

pki::_serial() { echo "0x$(openssl rand -hex 16)"; }

# A minimal openssl config so that the system openssl.cnf does not add extensions of its own.
pki::_cnf() { # OUT EXTENSION-LINES...
  local out=$1; shift
  { printf '[req]\ndistinguished_name = dn\n[dn]\n[ext]\n'; printf '%s\n' "$@"; } > "$out"
}

pki::_pair_ok() { # CRT KEY
  [[ -s $1 && -s $2 ]] || return 1
  openssl x509 -noout -checkend 86400 -in "$1" >/dev/null 2>&1 || return 1
  [[ "$(openssl x509 -noout -pubkey -in "$1" 2>/dev/null)" == "$(openssl pkey -pubout -in "$2" 2>/dev/null)" ]]
}

pki::_ca() { # DIR NAME CN
  local d=$1 n=$2 cn=$3
  pki::_pair_ok "$d/$n.crt" "$d/$n.key" && return 0
  pki::_genkey "$d/$n.key"
  pki::_cnf "$d/.tmp.cnf" "basicConstraints = critical,CA:TRUE" \
    "keyUsage = critical,digitalSignature,keyEncipherment,keyCertSign,cRLSign" \
    "subjectKeyIdentifier = hash"
  openssl req -x509 -new -sha256 -days 3650 -key "$d/$n.key" -subj "/CN=$cn" \
    -set_serial "$(pki::_serial)" -config "$d/.tmp.cnf" -extensions ext -out "$d/$n.crt"
  rm -f "$d/.tmp.cnf"
  echo "  pki: made $n"
}

pki::_leaf() { # DIR NAME CA SUBJECT serverAuth|clientAuth [SAN]
  local d=$1 n=$2 ca=$3 subj=$4 usage=$5 san=${6:-}
  local -a ext=("basicConstraints = critical,CA:FALSE"
    "keyUsage = critical,digitalSignature,keyEncipherment"
    "extendedKeyUsage = $usage"
    "subjectKeyIdentifier = hash"
    "authorityKeyIdentifier = keyid")
  if [[ -n $san ]]; then ext+=("subjectAltName = $san"); fi
  pki::_cnf "$d/.tmp.ext" "${ext[@]}"
  echo "# subject $subj" >> "$d/.tmp.ext"
  if pki::_pair_ok "$d/$n.crt" "$d/$n.key" && cmp -s "$d/.tmp.ext" "$d/$n.ext" &&
     openssl verify -CAfile "$d/$ca.crt" "$d/$n.crt" >/dev/null 2>&1; then
    rm -f "$d/.tmp.ext"; return 0
  fi
  pki::_genkey "$d/$n.key"
  openssl req -new -key "$d/$n.key" -subj "$subj" -config "$d/.tmp.ext" -out "$d/.tmp.csr"
  openssl x509 -req -sha256 -days 3650 -in "$d/.tmp.csr" -CA "$d/$ca.crt" -CAkey "$d/$ca.key" \
    -set_serial "$(pki::_serial)" -extfile "$d/.tmp.ext" -extensions ext -out "$d/$n.crt" 2>/dev/null
  mv "$d/.tmp.ext" "$d/$n.ext"; rm -f "$d/.tmp.csr"
  echo "  pki: made $n"
}

pki::ensure() { # DIR
  local d=$1
  mkdir -p "$d"; chmod 700 "$d"
  pki::_ca "$d" ca kubernetes-ca
  pki::_ca "$d" front-proxy-ca front-proxy-ca
  pki::_ca "$d" backupview-ca backupview-ca
  pki::_leaf "$d" apiserver ca /CN=kube-apiserver serverAuth \
    "DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:::1,IP:10.0.0.1"
  pki::_leaf "$d" admin ca /O=system:masters/CN=admin clientAuth
  pki::_leaf "$d" alice ca /CN=alice clientAuth
  pki::_leaf "$d" kube-controller-manager ca /CN=system:kube-controller-manager clientAuth
  pki::_leaf "$d" front-proxy-client front-proxy-ca /CN=front-proxy-client clientAuth
  pki::_leaf "$d" backupview backupview-ca /CN=backupview.backupview-system.svc serverAuth \
    "DNS:backupview.backupview-system.svc,DNS:backupview.backupview-system.svc.cluster.local,DNS:backupview.backupview-system,DNS:backupview,DNS:localhost,IP:127.0.0.1,IP:::1"
  if ! openssl pkey -in "$d/sa.key" -noout >/dev/null 2>&1; then
    pki::_genkey "$d/sa.key"; rm -f "$d/sa.pub"; echo "  pki: made sa.key"
  fi
  [[ -s $d/sa.pub ]] || openssl pkey -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null
}
