# bash completion for wattrun (installed as share/bash-completion/completions/wattrun).
_wattrun() {
  local cur prev words cword
  _init_completion 2>/dev/null || {
    cur="${COMP_WORDS[COMP_CWORD]}"; prev="${COMP_WORDS[COMP_CWORD-1]}"; words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD
  }
  local commands="generate ingest run predict report job"
  local global="--help --version --quiet --verbose"
  local cmd="" w
  for w in "${words[@]:1:cword-1}"; do
    case " $commands " in *" $w "*) cmd="$w"; break ;; esac
  done
  case "$prev" in
    --config) COMPREPLY=($(compgen -f -X '!*.y*ml' -- "$cur") $(compgen -d -- "$cur")); return ;;
    --input|--output|--model) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    --store|--timings) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --hardware) COMPREPLY=($(compgen -W "cpu gpu" -- "$cur")); return ;;
    --telemetry-format) COMPREPLY=($(compgen -W "spec ldms" -- "$cur")); return ;;
    --shape) COMPREPLY=($(compgen -W "rectangle trapezoid exponential wide_first_2x rectangle_residual" -- "$cur")); return ;;
  esac
  local opts
  case "$cmd" in
    generate) opts="--config --output --scale --months --seed --clean --telemetry-format" ;;
    ingest) opts="--config --input --store --memory-budget-mb" ;;
    run) opts="--config --input --store --output --memory-budget-mb --no-fit --no-report --timings --json" ;;
    predict) opts="--model --config --dataset --store --inputs --outputs --observations --shape --depth --size --hardware --epochs --batch-size --json" ;;
    report) opts="--output" ;;
    job) opts="--output --json" ;;
    *) COMPREPLY=($(compgen -W "$commands $global" -- "$cur")); return ;;
  esac
  COMPREPLY=($(compgen -W "$opts --help --quiet --verbose" -- "$cur"))
}
complete -F _wattrun wattrun
