# Shared helpers for the peer scripts (sourced, not run).

# find_plan_files PLAN_DIR: sets RTSS, RTDOSE, RTPLAN (unless already set in the environment) from
# the usual export names: rtss/rtdose/rtplan*.dcm (dicompyler), RS/RD/RP*.dcm (RayStation, Eclipse).
find_plan_files() {
    local plan="$1"
    _pick() {
        local pat f
        for pat in "$@"; do
            for f in "$plan"/$pat; do
                [ -f "$f" ] && { echo "$f"; return 0; }
            done
        done
        return 0
    }
    RTSS="${RTSS:-$(_pick 'rtss*.dcm' 'RS*.dcm' '*struct*.dcm')}"
    RTDOSE="${RTDOSE:-$(_pick 'rtdose*.dcm' 'RD*.dcm' '*dose*.dcm')}"
    RTPLAN="${RTPLAN:-$(_pick 'rtplan*.dcm' 'RP*.dcm' '*plan*.dcm')}"
    [ -n "$RTSS" ] || { echo "no RT Struct found in $plan (set RTSS=)" >&2; return 2; }
    [ -n "$RTDOSE" ] || { echo "no RT Dose found in $plan (set RTDOSE=)" >&2; return 2; }
    return 0
}
