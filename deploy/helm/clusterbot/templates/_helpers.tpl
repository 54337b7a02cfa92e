{{/* The release's object names: "clusterbot" for a release called clusterbot. */}}
{{- define "clusterbot.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "clusterbot.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "clusterbot.labels" -}}
{{ include "clusterbot.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Binds a role to the bot's ServiceAccount. */}}
{{- define "clusterbot.subjects" -}}
subjects:
  - kind: ServiceAccount
    name: {{ include "clusterbot.fullname" . }}
    namespace: {{ .Release.Namespace }}
{{- end -}}
