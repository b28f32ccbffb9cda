set terminal pngcairo size 1400,650
set output 'bench/results/coords/pareto-conv2.png'
set multiplot layout 1,2 title 'LeNet-5 conv2 (MNIST): stored bits of the layer vs validation top-1'
set xlabel 'stored bits of conv2 weights (log)'
set ylabel 'validation top-1'
set logscale x
set grid
set offsets graph 0, graph 0, graph 0.05, graph 0.02
set title 'all points'
set key bottom right
plot 'bench/results/coords/pareto-conv2.dat' using (strcol(1) eq 'cgp-coords' ? $3 : 1/0):4 with points pt 4 ps 1.4 title 'cgp-coords', 'bench/results/coords/pareto-conv2.dat' using (strcol(1) eq 'cgp-coords-bits+res' ? $3 : 1/0):4 with points pt 5 ps 1.4 title 'cgp-coords-bits+res', 'bench/results/coords/pareto-conv2.dat' using (strcol(1) eq 'cgp-coords-mse+res' ? $3 : 1/0):4 with points pt 6 ps 1.4 title 'cgp-coords-mse+res', 'bench/results/coords/pareto-conv2.dat' using (strcol(1) eq 'entropy' ? $3 : 1/0):4 with points pt 7 ps 1.4 title 'entropy', 'bench/results/coords/pareto-conv2.dat' using (strcol(1) eq 'int8' ? $3 : 1/0):4 with points pt 8 ps 1.4 title 'int8', 'bench/results/coords/pareto-conv2.dat' using (strcol(1) eq 'kmeans' ? $3 : 1/0):4 with points pt 9 ps 1.4 title 'kmeans', 'bench/results/coords/pareto-conv2.dat' using (strcol(1) eq 'requant' ? $3 : 1/0):4 with points pt 10 ps 1.4 title 'requant', 'bench/results/coords/pareto-conv2.front' using 3:4 with steps lw 1 lc rgb 'black' title 'joint Pareto front', 'bench/results/coords/pareto-conv2.front' using 3:4 with points pt 6 ps 2.6 lc rgb 'black' notitle
set title 'zoom: validation top-1 >= 0.95'
set yrange [0.95:*]
set key bottom right
plot 'bench/results/coords/pareto-conv2.dat' using (strcol(1) eq 'cgp-coords' ? $3 : 1/0):4 with points pt 4 ps 1.4 title 'cgp-coords', 'bench/results/coords/pareto-conv2.dat' using (strcol(1) eq 'cgp-coords-bits+res' ? $3 : 1/0):4 with points pt 5 ps 1.4 title 'cgp-coords-bits+res', 'bench/results/coords/pareto-conv2.dat' using (strcol(1) eq 'cgp-coords-mse+res' ? $3 : 1/0):4 with points pt 6 ps 1.4 title 'cgp-coords-mse+res', 'bench/results/coords/pareto-conv2.dat' using (strcol(1) eq 'entropy' ? $3 : 1/0):4 with points pt 7 ps 1.4 title 'entropy', 'bench/results/coords/pareto-conv2.dat' using (strcol(1) eq 'int8' ? $3 : 1/0):4 with points pt 8 ps 1.4 title 'int8', 'bench/results/coords/pareto-conv2.dat' using (strcol(1) eq 'kmeans' ? $3 : 1/0):4 with points pt 9 ps 1.4 title 'kmeans', 'bench/results/coords/pareto-conv2.dat' using (strcol(1) eq 'requant' ? $3 : 1/0):4 with points pt 10 ps 1.4 title 'requant', 'bench/results/coords/pareto-conv2.front' using 3:4 with steps lw 1 lc rgb 'black' title 'joint Pareto front', 'bench/results/coords/pareto-conv2.front' using 3:4 with points pt 6 ps 2.6 lc rgb 'black' notitle
unset multiplot
