{{/* The chart name, or nameOverride. */}}
{{- define "backupview.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name: release name `backupview` gives `backupview`, the names deploy/ has always
had. 63 characters at most (DNS label).
*/}}
{{- define "backupview.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "backupview.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Selector labels: the name only, as deploy/ always selected, because a Deployment's selector
is immutable (an existing install keeps upgrading in place). The instance is not needed to
tell releases apart: the APIService v1alpha1.ui.kubestash.com is one per cluster, so is
backupview.
*/}}
{{- define "backupview.selectorLabels" -}}
app.kubernetes.io/name: {{ include "backupview.name" . }}
{{- end }}

{{/*
Labels of every object. The Helm-only ones (chart, managed-by, and the version, which a
kustomize images: override would contradict) are off for the kustomize base (helmLabels).
*/}}
{{- define "backupview.labels" -}}
{{ include "backupview.selectorLabels" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: kubestash
{{- if .Values.helmLabels }}
helm.sh/chart: {{ include "backupview.chart" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}
{{- end }}

{{- define "backupview.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "backupview.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The ServiceAccount as an RBAC subject. */}}
{{- define "backupview.subject" -}}
- kind: ServiceAccount
  name: {{ include "backupview.serviceAccountName" . }}
  namespace: {{ .Release.Namespace }}
{{- end }}

{{- define "backupview.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* The Secret holding tls.crt, tls.key (and ca.crt) that the server mounts. */}}
{{- define "backupview.servingCertSecretName" -}}
{{- if eq .Values.tls.type "existingSecret" }}
{{- required "tls.existingSecret.name is required when tls.type is existingSecret" .Values.tls.existingSecret.name }}
{{- else }}
{{- printf "%s-serving-cert" (include "backupview.fullname" .) }}
{{- end }}
{{- end }}

{{/* The Service's DNS names, which the serving certificate must cover. */}}
{{- define "backupview.dnsNames" -}}
{{- $svc := printf "%s.%s.svc" (include "backupview.fullname" .) .Release.Namespace -}}
{{- list $svc (printf "%s.cluster.local" $svc) | toJson }}
{{- end }}

{{/*
backupview.helmTLS (tls.type=helm): the CA and the serving certificate and key, as JSON
{"ca", "crt", "key"} of PEM. An upgrade keeps what the Secret already holds (lookup), so the
APIService's caBundle and the pod template's checksum stay the same and nothing rolls; only
a first install (or a deleted Secret) generates. lookup is empty under `helm template` and
--dry-run, which therefore always show a fresh certificate. The result is cached in the
values (every template of a rendering shares them) so that the Secret, the APIService and
the Deployment, rendered separately, use one certificate and not three.
*/}}
{{- define "backupview.helmTLS" -}}
{{- if not (hasKey .Values "__helmTLS") }}
{{- $name := include "backupview.servingCertSecretName" . }}
{{- $data := (lookup "v1" "Secret" .Release.Namespace $name).data | default dict }}
{{- $tls := dict }}
{{- if and (index $data "ca.crt") (index $data "tls.crt") (index $data "tls.key") }}
{{- $tls = dict "ca" (index $data "ca.crt" | b64dec) "crt" (index $data "tls.crt" | b64dec) "key" (index $data "tls.key" | b64dec) }}
{{- else }}
{{- $days := int .Values.tls.helm.certDurationDays }}
{{- $dns := include "backupview.dnsNames" . | fromJsonArray }}
{{- $ca := genCA (printf "%s-ca" (include "backupview.fullname" .)) $days }}
{{- $cert := genSignedCert (first $dns) nil $dns $days $ca }}
{{- $tls = dict "ca" $ca.Cert "crt" $cert.Cert "key" $cert.Key }}
{{- end }}
{{- $_ := set .Values "__helmTLS" $tls }}
{{- end }}
{{- index .Values "__helmTLS" | toJson }}
{{- end }}
